import type { CompactBuckets as CompactBucketCounts } from '@syncscope/core/fleet-results/compact-report';
import { reportCompared } from '@syncscope/core/probe/verdicts';
import { Badge, Card, Mono, TextLink, Time } from '@/ui/primitives';
import { UserLabel } from '../user-labels/user-label';
import { VerdictReason } from '../verdicts/verdict-reason';
import type { ProbeRunDetail, ReadReport } from './probe-runs.server';
import { SubscriptionList } from './subscription-list';

const PHASE_ORDER = ['mint', 'schema', 'sync', 'expected', 'diff', 'settle', 'write-checkpoint'];

/**
 * A light run and the full run that checked its difference are stored apart, naming each other: each
 * page links the other.
 */
function ModeAndConfirmation({ report, verdict }: { report: ReadReport; verdict: string }) {
  if (report.confirmedByRun) {
    const outcome =
      verdict === 'mismatch'
        ? 'confirmed by full probe'
        : verdict === 'consistent'
          ? 'not confirmed by full probe'
          : 'full probe could not tell:';
    return (
      <span>
        light · {outcome}{' '}
        <span data-testid="confirmed-by-run">
          <TextLink href={`/probes/${report.confirmedByRun}`}>{report.confirmedByRun}</TextLink>
        </span>
      </span>
    );
  }
  if (report.confirmsRun) {
    const outcome =
      verdict === 'mismatch'
        ? 'this full probe confirms it'
        : verdict === 'consistent'
          ? 'this full probe does not confirm it'
          : 'this full probe could not tell';
    return (
      <span>
        full · light probe{' '}
        <span data-testid="confirms-run">
          <TextLink href={`/probes/${report.confirmsRun}`}>{report.confirmsRun}</TextLink>
        </span>{' '}
        found a difference; {outcome}
      </span>
    );
  }
  return <span>{report.mode ?? 'full'}</span>;
}

/** The stored report of one probe, above its paged row differences. Server component. */
export function ProbeResult({
  run,
  report,
  userLabel
}: {
  run: ProbeRunDetail;
  report: ReadReport;
  /** The user's email or name from the target's user search, if it found one. */
  userLabel: string | undefined;
}) {
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <Badge value={run.verdict} />
        <p className="font-medium" data-testid="probe-summary">
          {run.summary}
        </p>
      </div>
      <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-xs sm:grid-cols-4">
        <Item label="Target">{run.target}</Item>
        <Item label="User" testId="probe-user">
          <UserLabel userId={run.userId} label={userLabel} />
        </Item>
        <Item label="Started">
          <Time value={run.startedAt} />
        </Item>
        <Item label="Duration">{(run.durationMs / 1000).toFixed(1)} s</Item>
        <Item label="Requested by">{run.requestedBy ?? 'CLI / agent'}</Item>
        <Item label="Mode" wide testId="probe-mode">
          <ModeAndConfirmation report={report} verdict={run.verdict} />
        </Item>
        <Item label="Sync outcome">{report.sync.kind}</Item>
        <Item label="Token">
          <Mono>
            kid {report.token.kid} · jti {report.token.jti || '—'}
          </Mono>
        </Item>
        <Item label="Phases">
          <Mono>
            {Object.entries(report.phases)
              .sort(([a], [b]) => PHASE_ORDER.indexOf(a) - PHASE_ORDER.indexOf(b))
              .map(([k, v]) => `${k} ${v} ms`)
              .join(' · ')}
          </Mono>
        </Item>
        <Item label="Stream subscriptions" wide testId="probe-subscriptions">
          <SubscriptionList subscriptions={run.subscriptions} none="none (default streams only)" />
        </Item>
      </dl>
      <VerdictReason
        verdict={run.verdict}
        code={run.reasonCode}
        message={(report.reason ?? report.error)?.message}
      />
      {report.warnings.length ? (
        <Card title="Warnings">
          <ul className="list-disc pl-5">
            {report.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Card>
      ) : null}
      {reportCompared(report) ? <Compared report={report} /> : <NotCompared report={report} />}
      <p className="text-xs text-zinc-500">
        Permanent link: <TextLink href={`/probes/${run.id}`}>/probes/{run.id}</TextLink> ·{' '}
        <TextLink
          href={`/probes?user=${encodeURIComponent(run.userId)}&target=${encodeURIComponent(run.target)}`}
        >
          earlier probes of this user
        </TextLink>
      </p>
    </div>
  );
}

/** Buckets, rows per table and checksums of a probe that compared the user's data with the source. */
function Compared({ report }: { report: ReadReport }) {
  const bucketDiffs = report.buckets.differences;
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <Card
        title={`Buckets (${report.compactBuckets?.expectedCount ?? report.buckets.expected.length} expected, ${report.compactBuckets?.actualCount ?? report.buckets.actual.length} synced)`}
      >
        {report.compactBuckets ? (
          <CompactBuckets buckets={report.compactBuckets} />
        ) : (
          <ul className="max-h-48 space-y-0.5 overflow-auto font-mono text-xs">
            {report.buckets.expected.map((b) => (
              <li key={b}>{b}</li>
            ))}
          </ul>
        )}
        {bucketDiffs.map((d) => (
          <p key={d.bucket} className="mt-2 text-rose-700 dark:text-rose-400">
            {d.kind} <Mono>{d.bucket}</Mono>: {d.explanation}
          </p>
        ))}
        {report.buckets.overLimit ? <p className="mt-2 text-rose-700">Over the 1000-bucket limit.</p> : null}
      </Card>
      <Card title="Rows per table">
        <table className="w-full text-xs" data-testid="per-table">
          <thead className="text-zinc-500">
            <tr>
              <th className="text-left font-medium">table</th>
              <th className="text-right font-medium">expected</th>
              <th className="text-right font-medium">synced</th>
            </tr>
          </thead>
          <tbody className="tabular-nums">
            {Object.entries(report.rows.perTable).map(([table, n]) => (
              <tr key={table} className={n.expected !== n.actual ? 'text-rose-700 dark:text-rose-400' : ''}>
                <td className="font-mono">{table}</td>
                <td className="text-right">{n.expected.toLocaleString('en')}</td>
                <td className="text-right">{n.actual.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Checksums">
        {report.checksums.bucketMismatches.length === 0 && report.checksums.rowMismatches === 0 ? (
          <p>Bucket and row checksums match.</p>
        ) : (
          <>
            <p>{report.checksums.rowMismatches} row checksum mismatches.</p>
            <ul className="font-mono text-xs">
              {report.checksums.bucketMismatches.map((m) => (
                <li key={m.bucket}>
                  {m.bucket}: checkpoint {m.checkpoint} ≠ client {m.client}
                </li>
              ))}
            </ul>
          </>
        )}
      </Card>
    </div>
  );
}

/**
 * A probe that ended before its diff: the buckets it expected, and no claim about the user's data (check
 * marks or "checksums match" would read as a pass).
 */
function NotCompared({ report }: { report: ReadReport }) {
  return (
    <Card title={`Not compared (${report.buckets.expected.length} buckets expected)`}>
      <p className="mb-2" data-testid="probe-not-compared">
        The probe ended before it compared what the user holds with the source (see why above): nothing here
        says whether their data is right. Probe again once the cause is gone.
      </p>
      <ul className="max-h-48 space-y-0.5 overflow-auto font-mono text-xs">
        {report.buckets.expected.map((b) => (
          <li key={b}>{b}</li>
        ))}
      </ul>
    </Card>
  );
}

/** A consistent run's buckets as stored: counts per rule (bucket ids are not kept; see compact-report.ts). */
function CompactBuckets({ buckets }: { buckets: CompactBucketCounts }) {
  return (
    <>
      <table className="w-full text-xs" data-testid="buckets-by-rule">
        <tbody className="tabular-nums">
          {Object.entries(buckets.byRule).map(([rule, n]) => (
            <tr key={rule}>
              <td className="font-mono">{rule}</td>
              <td className="text-right">{n.toLocaleString('en')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="mt-1 text-xs text-zinc-500">
        Buckets per rule: a consistent run is stored without its bucket ids.
      </p>
    </>
  );
}

function Item({
  label,
  wide = false,
  testId,
  children
}: {
  label: string;
  /** Spans the whole row (long values). */
  wide?: boolean;
  testId?: string;
  children: React.ReactNode;
}) {
  return (
    <div className={wide ? 'col-span-2 sm:col-span-4' : undefined} data-testid={testId}>
      <dt className="text-zinc-500">{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
