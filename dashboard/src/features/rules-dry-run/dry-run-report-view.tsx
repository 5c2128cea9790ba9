import type {
  BucketChange,
  DryRunReport,
  UserChange,
  UserSelection
} from '@syncscope/core/rules-insight/dry-run/dry-run-report';
import { UserLabel } from '@/features/user-labels/user-label';
import { Card, Mono, rowClass, TableHead, Time } from '@/ui/primitives';
import { DraftProblemList } from './draft-problem-list';
import { DRY_RUN_LIMITS } from './dry-run-request';

const n = (value: number) => value.toLocaleString('en-US');
const bytes = (value: number) => `${n(value)} B`;

function describeSelection(selection: UserSelection, considered: number): string {
  if (selection.kind === 'all') return `all ${n(considered)} users (${selection.from})`;
  if (selection.kind === 'sample')
    return `a sample of ${n(considered)} users (asked for ${n(selection.size)})`;
  return `${n(considered)} users from the SQL query`;
}

function Banner({ report }: { report: DryRunReport }) {
  const losing = report.users.changed.filter((u) => u.rowsDropped > 0).length;
  const tone = losing
    ? 'border-rose-300 bg-rose-50 text-rose-900 dark:border-rose-800 dark:bg-rose-950 dark:text-rose-200'
    : 'border-emerald-300 bg-emerald-50 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-200';
  return (
    <div
      role="status"
      className={`mb-4 rounded-md border p-3 font-semibold ${tone}`}
      data-testid="dry-run-banner"
    >
      {losing ? `${n(losing)} user${losing === 1 ? '' : 's'} would lose rows` : 'No user would lose rows'}{' '}
      <span className="font-normal">
        of {describeSelection(report.users.selection, report.users.considered)}, read in one snapshot at{' '}
        <Time value={report.snapshotTakenAt} />.
      </span>
    </div>
  );
}

function Figure({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div>
      <dt className="text-xs text-zinc-500">{label}</dt>
      <dd className="text-base font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

function Totals({ report }: { report: DryRunReport }) {
  const { totals, reprocessing, service } = report;
  return (
    <Card title="Totals" className="mb-4">
      <dl className="grid grid-cols-2 gap-3 md:grid-cols-4" data-testid="dry-run-totals">
        <Figure label="users gaining buckets" value={n(totals.usersGaining)} testId="total-users-gaining" />
        <Figure label="users losing buckets" value={n(totals.usersLosing)} testId="total-users-losing" />
        <Figure
          label="rows to download"
          value={`${n(totals.rowsDownloaded)} · ${bytes(totals.bytesDownloaded)}`}
          testId="total-downloaded"
        />
        <Figure
          label="rows to drop"
          value={`${n(totals.rowsDropped)} · ${bytes(totals.bytesDropped)}`}
          testId="total-dropped"
        />
        <Figure
          label="reprocessing on deploy (all rows, all definitions)"
          value={`${n(reprocessing.operations)} ops · ${bytes(reprocessing.bytes)}`}
          testId="total-reprocessing"
        />
        <Figure
          label="the service's validate endpoint"
          value={
            service.checked
              ? service.ok
                ? 'accepts the draft'
                : 'refuses the draft'
              : `not asked: ${service.reason}`
          }
          testId="service-check"
        />
      </dl>
    </Card>
  );
}

function Buckets({ changes, kind }: { changes: BucketChange[]; kind: 'gained' | 'lost' }) {
  if (changes.length === 0) return <span className="text-zinc-400">—</span>;
  return (
    <ul className="space-y-0.5" data-testid={`buckets-${kind}`}>
      {changes.map((b) => (
        <li key={b.bucket}>
          <Mono>{b.bucket}</Mono>{' '}
          <span className="text-xs text-zinc-500">
            {b.definition} (line {b.line}) · {n(b.rows)} rows · {bytes(b.bytes)}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** Emails (or names) by user id, from the target's user search: a convenience, ids when missing. */
export type UserLabels = Record<string, string>;

function UserRow({ user, label }: { user: UserChange; label: string | undefined }) {
  return (
    <tr className={rowClass} data-testid={`dry-run-user-${user.userId}`}>
      <td className="py-1 pr-3">
        <UserLabel userId={user.userId} label={label} />
      </td>
      <td className="py-1 pr-3">
        <Buckets changes={user.gained} kind="gained" />
      </td>
      <td className="py-1 pr-3">
        <Buckets changes={user.lost} kind="lost" />
      </td>
      <td className="py-1 pr-3 text-right tabular-nums" data-testid="user-downloaded">
        {n(user.rowsDownloaded)} · {bytes(user.bytesDownloaded)}
      </td>
      <td
        className={`py-1 pr-3 text-right tabular-nums ${user.rowsDropped ? 'font-semibold text-rose-700 dark:text-rose-400' : ''}`}
        data-testid="user-dropped"
      >
        {n(user.rowsDropped)} · {bytes(user.bytesDropped)}
      </td>
    </tr>
  );
}

function UsersCard({ report, labels }: { report: DryRunReport; labels: UserLabels }) {
  const { changed } = report.users;
  return (
    <Card
      title={`Users whose data would change (${n(changed.length)}), largest change first`}
      className="mb-4"
    >
      {changed.length === 0 ? (
        <p>No considered user would gain or lose a bucket or a row.</p>
      ) : (
        <table className="w-full text-sm" data-testid="dry-run-users">
          <TableHead
            labels={[
              'user',
              'buckets gained',
              'buckets lost',
              'download (rows · bytes)',
              'drop (rows · bytes)'
            ]}
            right={['download (rows · bytes)', 'drop (rows · bytes)']}
          />
          <tbody>
            {changed.slice(0, DRY_RUN_LIMITS.usersShown).map((u) => (
              <UserRow key={u.userId} user={u} label={labels[u.userId]} />
            ))}
          </tbody>
        </table>
      )}
      {changed.length > DRY_RUN_LIMITS.usersShown ? (
        <p className="mt-2 text-xs text-zinc-500">
          {n(changed.length - DRY_RUN_LIMITS.usersShown)} more users change; `syncscope rules diff --json`
          lists them all.
        </p>
      ) : null}
    </Card>
  );
}

function UncoveredCard({ report }: { report: DryRunReport }) {
  return (
    <Card title="Rows in no bucket a considered user holds" className="mb-4">
      <table className="w-full text-sm" data-testid="dry-run-uncovered">
        <TableHead
          labels={['table', 'now', 'with the draft', 'newly in no bucket (sample)']}
          right={['now', 'with the draft']}
        />
        <tbody>
          {report.uncovered.map((t) => (
            <tr key={t.table} className={rowClass} data-testid={`uncovered-${t.table}`}>
              <td className="py-1 pr-3">
                <Mono nowrap>{t.table}</Mono>
              </td>
              <td className="py-1 pr-3 text-right tabular-nums">{n(t.current)}</td>
              <td
                className={`py-1 pr-3 text-right tabular-nums ${t.draft > t.current ? 'font-semibold text-rose-700 dark:text-rose-400' : ''}`}
              >
                {n(t.draft)}
              </td>
              <td className="py-1 pr-3 text-xs">
                {t.newlyUncoveredSampleIds.map((id) => (
                  <Mono key={id}>{`${id} `}</Mono>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

/** A dry run's report: the verdict banner, totals, the users who change, and rows left in no bucket. */
export function DryRunReportView({ report, labels }: { report: DryRunReport; labels: UserLabels }) {
  if (!report.valid)
    return (
      <Card title="The draft has errors: nothing was computed" className="mb-4">
        <DraftProblemList problems={report.problems} />
      </Card>
    );
  return (
    <section data-testid="dry-run-report">
      <Banner report={report} />
      <Totals report={report} />
      <UsersCard report={report} labels={labels} />
      <UncoveredCard report={report} />
    </section>
  );
}
