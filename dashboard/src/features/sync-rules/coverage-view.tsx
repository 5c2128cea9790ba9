import type { CoverageReport } from '@syncscope/core/rules-insight/coverage/compute-coverage';
import { UserLabel } from '@/features/user-labels/user-label';
import type { UserLabels } from '@/features/user-labels/user-labels.server';
import { Card, Mono, rowClass, TableHead } from '@/ui/primitives';

const n = (value: number) => value.toLocaleString('en-US');

function TablesCard({ report }: { report: CoverageReport }) {
  return (
    <Card title="Rows in no bucket a user holds" className="mb-4">
      <table className="w-full text-left text-sm" data-testid="coverage-tables">
        <TableHead
          labels={['table', 'rows', 'in no bucket', 'nearest rule']}
          right={['rows', 'in no bucket']}
        />
        <tbody>
          {report.tables.map((t) => (
            <tr key={t.table} className={rowClass} data-testid={`coverage-${t.table}`}>
              <td className="whitespace-nowrap py-1 pr-3">
                <Mono>{t.table}</Mono>
              </td>
              <td className="py-1 pr-3 text-right">{n(t.rows)}</td>
              <td
                className={`py-1 pr-3 text-right ${t.rowsInNoBucket ? 'font-semibold text-rose-700 dark:text-rose-400' : ''}`}
              >
                {n(t.rowsInNoBucket)}
              </td>
              <td className="py-1 pr-3 text-xs">
                {t.queries
                  .filter((q) => q.inUnheldBucket + q.nullParameter + q.conditionFails > 0)
                  .map((q) => (
                    <p key={q.line}>
                      {q.definition} (line {q.line}):{' '}
                      {q.inUnheldBucket
                        ? `${n(q.inUnheldBucket)} in a bucket no user holds (${q.bucketParameters.join(', ')})`
                        : ''}
                      {q.nullParameter ? ` ${n(q.nullParameter)} with a NULL bucket column` : ''}
                      {q.conditionFails ? ` ${n(q.conditionFails)} its condition leaves out` : ''}
                    </p>
                  ))}
                <ul className="mt-1 space-y-0.5" data-testid={`coverage-samples-${t.table}`}>
                  {t.samples.map((s) => (
                    <li key={s.id}>
                      <Mono>{s.id}</Mono>: {s.reason}
                    </li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function UsersCard({
  report,
  label
}: {
  report: CoverageReport;
  label: (userId: string) => string | undefined;
}) {
  const w = report.usersWithoutBuckets;
  const gaps = report.parameterGaps.filter((g) => g.usersWithout > 0);
  if (!w && gaps.length === 0) return null;
  return (
    <Card title="Users a parameter query gives nothing" className="mb-4">
      <div data-testid="coverage-users" className="space-y-1 text-sm">
        {w ? (
          <p>
            {n(w.count)} of {n(w.users)} known users get no bucket at all (“connected, but no data”)
            {w.sampleUserIds.length ? ':' : '.'}
          </p>
        ) : null}
        {w?.sampleUserIds.length ? (
          <ul className="flex flex-wrap gap-x-4 gap-y-1">
            {w.sampleUserIds.map((id) => (
              <li key={id}>
                <UserLabel userId={id} label={label(id)} />
              </li>
            ))}
          </ul>
        ) : null}
        {gaps.map((g) => (
          <p key={g.line} className="text-xs">
            {g.definition} (line {g.line}) gives {n(g.usersWithout)} of {n(g.users)} users nothing
          </p>
        ))}
      </div>
    </Card>
  );
}

function ProblemsCard({ report }: { report: CoverageReport }) {
  const problems = [
    ...report.tableProblems.map((p) => ({ line: p.line, message: p.message, fix: p.fix })),
    ...report.typeMismatches.map((m) => ({ line: m.line, message: m.message, fix: m.fix }))
  ];
  const notAnalysed = [
    ...report.notAnalysed.map((x) =>
      'table' in x ? `${x.table}: ${x.reason}` : `line ${x.line}: ${x.reason}`
    ),
    ...(report.streams.length
      ? [`sync streams (their buckets follow client subscriptions): ${report.streams.join(', ')}`]
      : [])
  ];
  return (
    <Card title={`Filters that never match and tables the service cannot replicate (${problems.length})`}>
      <ul className="space-y-2 text-sm" data-testid="coverage-problems">
        {problems.length === 0 ? <li>None.</li> : null}
        {problems.map((p) => (
          <li key={`${p.line}:${p.message}`}>
            <span className="text-rose-700 dark:text-rose-400">
              line {p.line}: {p.message}
            </span>
            <br />
            <span className="text-xs text-zinc-500">fix: </span>
            <Mono>{p.fix}</Mono>
          </li>
        ))}
      </ul>
      {notAnalysed.length ? (
        <ul className="mt-2 text-xs text-zinc-500">
          {notAnalysed.map((text) => (
            <li key={text}>not analysed: {text}</li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

/** The coverage tab: computed on request from one snapshot of the source (aggregates and samples only). */
export function CoverageView({
  target,
  report,
  labels
}: {
  target: string;
  report: CoverageReport;
  labels: UserLabels;
}) {
  return (
    <>
      <p className="mb-3 text-xs text-zinc-500">Snapshot of the source at {report.snapshotTakenAt}</p>
      <TablesCard report={report} />
      <UsersCard report={report} label={(userId) => labels(target, userId)} />
      <ProblemsCard report={report} />
    </>
  );
}
