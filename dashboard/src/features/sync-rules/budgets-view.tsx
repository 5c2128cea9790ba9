import {
  type BudgetReading,
  type BudgetTrend,
  describeForecast
} from '@syncscope/core/rules-insight/budgets/budget-history';
import type { BudgetReport } from '@syncscope/core/rules-insight/budgets/compute-budgets';
import { Card, Mono, rowClass, TableHead, TextLink, Time } from '@/ui/primitives';

const n = (value: number) => value.toLocaleString('en-US');

function rangeLabel(b: BudgetReport['histogram'][number]): string {
  if (b.to === null) return `${n(b.from)}+`;
  return b.from === b.to ? n(b.from) : `${n(b.from)}–${n(b.to)}`;
}

function Histogram({ report }: { report: BudgetReport }) {
  const most = Math.max(1, ...report.histogram.map((b) => b.users));
  return (
    <Card title="Buckets per user" className="mb-4">
      <p className="mb-2 text-sm" data-testid="budget-spread">
        {n(report.users)} users (from the {report.usersFrom}): p50 {n(report.buckets.p50)}, p90{' '}
        {n(report.buckets.p90)}, p99 {n(report.buckets.p99)}, max {n(report.buckets.max)} buckets; parameter
        rows max {n(report.results.max)}
      </p>
      <table className="w-full text-sm" data-testid="budget-histogram">
        <TableHead labels={['buckets', 'users', '']} right={['users']} />
        <tbody>
          {report.histogram.map((b) => (
            <tr key={b.from} className={rowClass} data-testid={`budget-bin-${b.from}`}>
              <td className="w-32 py-0.5 pr-3 tabular-nums">{rangeLabel(b)}</td>
              <td className="w-20 py-0.5 pr-3 text-right tabular-nums">{n(b.users)}</td>
              <td className="py-0.5">
                <div
                  className={`h-3 rounded-sm ${b.to === null || b.from > report.thresholds[0]! ? 'bg-rose-500' : 'bg-sky-500'}`}
                  style={{ width: `${b.users ? Math.max(1, (100 * b.users) / most) : 0}%` }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function Thresholds({ report }: { report: BudgetReport }) {
  return (
    <Card title="Users over each threshold" className="mb-4">
      <table className="text-sm" data-testid="budget-thresholds">
        <TableHead labels={['threshold', 'users over it', '']} right={['users over it']} />
        <tbody>
          {report.over.map((o) => (
            <tr key={o.threshold} className={rowClass} data-testid={`budget-over-${o.threshold}`}>
              <td className="py-1 pr-6 tabular-nums">{n(o.threshold)}</td>
              <td
                className={`py-1 pr-6 text-right tabular-nums ${o.users ? 'font-semibold text-rose-700 dark:text-rose-400' : ''}`}
              >
                {n(o.users)}
              </td>
              <td className="py-1 text-xs text-zinc-500">
                {o.threshold === report.limit
                  ? 'the bucket limit: the service refuses these users (PSYNC_S2305)'
                  : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function growthText(t: BudgetTrend | undefined): string {
  if (!t || t.growth === undefined) return 'new in the list';
  return `${t.growth > 0 ? '+' : ''}${n(t.growth)} (was ${n(t.previous!)})`;
}

function Users({ reading, target }: { reading: BudgetReading; target: string }) {
  const { report, trends } = reading;
  const lowest = report.thresholds[0]!;
  const more = (report.over[0]?.users ?? 0) - report.listed.length;
  return (
    <Card title={`Users over ${n(lowest)}, largest first`}>
      {report.listed.length === 0 ? (
        <p className="text-sm" data-testid="budget-users-none">
          No user gets more than {n(lowest)} buckets.
        </p>
      ) : (
        <table className="w-full text-sm" data-testid="budget-users">
          <TableHead
            labels={['user', 'buckets', 'parameter rows', 'most from', 'since the last reading', 'forecast']}
            right={['buckets', 'parameter rows']}
          />
          <tbody>
            {report.listed.map((u) => {
              const top = u.parts[0];
              const trend = trends.find((t) => t.user === u.user);
              return (
                <tr key={u.user} className={rowClass} data-testid={`budget-user-${u.user}`}>
                  <td className="py-1 pr-3">
                    <Mono>{u.user}</Mono>
                  </td>
                  <td
                    className={`py-1 pr-3 text-right tabular-nums ${u.buckets > report.limit ? 'font-semibold text-rose-700 dark:text-rose-400' : ''}`}
                  >
                    {n(u.buckets)}
                  </td>
                  <td className="py-1 pr-3 text-right tabular-nums">{n(u.results)}</td>
                  <td className="py-1 pr-3">
                    {top ? (
                      <TextLink href={`/rules?target=${encodeURIComponent(target)}#L${top.line}`}>
                        {top.definition} · line {top.line} ({n(top.buckets)})
                      </TextLink>
                    ) : null}
                  </td>
                  <td className="py-1 pr-3 tabular-nums">{growthText(trend)}</td>
                  <td className="py-1 pr-3">{trend ? describeForecast(trend.forecast, report.limit) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {more > 0 ? <p className="mt-1 text-xs text-zinc-500">… and {n(more)} more</p> : null}
    </Card>
  );
}

/** The bucket budgets tab: the latest reading an agent stored (every rules_insight.every_seconds). */
export function BudgetsView({ reading, target }: { reading: BudgetReading; target: string }) {
  const { report } = reading;
  return (
    <>
      <p className="mb-3 text-xs text-zinc-500">
        Computed by an agent at <Time value={reading.computedAt} /> against the limit of {n(report.limit)}
        {report.fixed.length
          ? `; every user gets ${report.fixed.map((p) => `${p.definition} (line ${p.line}) ${n(p.buckets)}`).join(', ')}`
          : ''}
      </p>
      <Thresholds report={report} />
      <Histogram report={report} />
      <Users reading={reading} target={target} />
    </>
  );
}
