import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { listProbeRuns } from '@/features/probes/probe-runs.server';
import { SubscriptionList } from '@/features/probes/subscription-list';
import { UserLabel } from '@/features/user-labels/user-label';
import { userLabels } from '@/features/user-labels/user-labels.server';
import {
  PROBE_VERDICTS,
  REASON_GROUPS,
  reasonParam,
  verdictParam
} from '@/features/verdicts/verdict-filters';
import { ReasonCode } from '@/features/verdicts/verdict-reason';
import { listTargets } from '@/server/targets';
import {
  Badge,
  buttonClass,
  Empty,
  inputClass,
  PageHeader,
  Pager,
  rowClass,
  TableHead,
  TextLink,
  Time
} from '@/ui/primitives';

export const metadata: Metadata = { title: 'Probes' };
const PAGE = 50;

type Query = {
  target?: string;
  user?: string;
  verdict?: string;
  reason?: string;
  since?: string;
  until?: string;
  offset?: string;
};

export default async function ProbesPage({ searchParams }: { searchParams: Promise<Query> }) {
  const access = await requirePage('/probes');
  const query = await searchParams;
  if (query.target) access.requireTarget(query.target);
  const offset = Math.max(0, Number(query.offset) || 0);
  const filters = {
    target: query.target,
    user: query.user,
    verdict: verdictParam(query.verdict),
    reason: reasonParam(query.reason),
    since: query.since,
    until: query.until
  };
  const [{ runs, total }, targets] = await Promise.all([
    listProbeRuns({ ...filters, scope: access.scope }, offset, PAGE),
    listTargets().then(access.allowed)
  ]);
  const label = await userLabels(runs);
  return (
    <>
      <PageHeader title="Probes" />
      <form className="mb-3 flex flex-wrap items-end gap-2 text-xs" aria-label="filters">
        <Filter label="Target">
          <select name="target" defaultValue={query.target ?? ''} className={inputClass}>
            <option value="">all</option>
            {targets.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Filter>
        <Filter label="User">
          <input name="user" data-search defaultValue={query.user} className={`${inputClass} font-mono`} />
        </Filter>
        <Filter label="Verdict">
          <select name="verdict" defaultValue={filters.verdict ?? ''} className={inputClass}>
            <option value="">all</option>
            {PROBE_VERDICTS.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </Filter>
        <Filter label="Reason">
          <select name="reason" defaultValue={filters.reason ?? ''} className={inputClass}>
            <option value="">all</option>
            {REASON_GROUPS.map((g) => (
              <optgroup key={g.verdict} label={g.verdict}>
                {g.reasons.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </optgroup>
            ))}
          </select>
        </Filter>
        <Filter label="Since">
          <input type="datetime-local" name="since" defaultValue={query.since} className={inputClass} />
        </Filter>
        <Filter label="Until">
          <input type="datetime-local" name="until" defaultValue={query.until} className={inputClass} />
        </Filter>
        <button type="submit" className={buttonClass}>
          Filter
        </button>
      </form>
      {runs.length ? (
        <table className="w-full text-left" data-testid="probe-runs">
          <TableHead
            labels={['Started', 'Kind', 'Target', 'User', 'Subscriptions', 'Verdict', 'Summary', 'Duration']}
            right={['Duration']}
          />
          <tbody>
            {runs.map((run) => (
              <tr key={run.id} className={rowClass}>
                <td className="py-1 pr-3 text-xs">
                  <TextLink href={`/probes/${run.id}`}>
                    <Time value={run.startedAt} />
                  </TextLink>
                </td>
                <td className="pr-3 text-xs">
                  {run.kind}
                  {run.kind === 'read' ? <span className="block text-zinc-500">{run.mode}</span> : null}
                </td>
                <td className="pr-3">{run.target}</td>
                <td className="pr-3">
                  <UserLabel userId={run.userId} label={label(run.target, run.userId)} />
                </td>
                <td className="pr-3 text-xs">
                  <SubscriptionList subscriptions={run.subscriptions} none="—" />
                </td>
                <td className="pr-3">
                  <Badge value={run.verdict} />
                  <ReasonCode code={run.reasonCode} />
                </td>
                <td className="pr-3">
                  <span className="line-clamp-2" title={run.summary}>
                    {run.summary}
                  </span>
                </td>
                <td className="text-right tabular-nums">{(run.durationMs / 1000).toFixed(1)} s</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No probes match these filters.</Empty>
      )}
      <Pager basePath="/probes" params={{ ...filters }} offset={offset} limit={PAGE} total={total} />
    </>
  );
}

function Filter({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is passed in as children
    <label className="grid gap-0.5">
      <span className="text-zinc-500">{label}</span>
      {children}
    </label>
  );
}
