import { roleAllows, roleOn } from '@syncscope/core/console-users/console-users';
import type { Metadata } from 'next';
import { FiringAlertsCard } from '@/features/alerts/firing-alerts-card';
import { requirePage } from '@/features/auth/guard.server';
import { targetHealth } from '@/features/overview/target-health.server';
import { openProblems, verdictTrends } from '@/features/overview/verdict-trends.server';
import { WriteProbeButton } from '@/features/probes/write-probe-button';
import { ReplicationHealthCard } from '@/features/replication-health/replication-health-card';
import { UserLabel } from '@/features/user-labels/user-label';
import { userLabels } from '@/features/user-labels/user-labels.server';
import { VERDICT_DOT } from '@/features/verdicts/verdict-filters';
import { ReasonCode } from '@/features/verdicts/verdict-reason';
import { VerdictTiles, verdictCountsText } from '@/features/verdicts/verdict-tiles';
import { listTargets } from '@/server/targets';
import { Badge, Card, Empty, PageHeader, TextLink, Time } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Overview' };

export default async function OverviewPage() {
  const access = await requirePage('/');
  const targets = access.allowed(await listTargets());
  const [health, trends, problems] = await Promise.all([
    Promise.all(targets.map(targetHealth)),
    verdictTrends(access.scope),
    openProblems(access.scope)
  ]);
  const label = await userLabels([
    ...problems,
    ...trends.flatMap((t) => t.recent.map((r) => ({ target: t.target, userId: r.userId })))
  ]);
  const last24h: Record<string, number> = {};
  for (const t of trends)
    for (const [v, n] of Object.entries(t.last24h)) last24h[v] = (last24h[v] ?? 0) + Number(n);
  // Unhealthy targets first.
  health.sort(
    (a, b) => Number(a.live && a.ready) - Number(b.live && b.ready) || a.target.localeCompare(b.target)
  );
  return (
    <>
      <PageHeader title="Overview">
        <TextLink href="/fleet">Fleet view: users verified, verdicts over time, canaries</TextLink>
      </PageHeader>
      <FiringAlertsCard scope={access.scope} />
      <VerdictTiles counts={last24h} />
      <Card title={`Open problems (${problems.length})`} className="mb-4">
        {problems.length ? (
          <table className="w-full text-left" data-testid="open-problems">
            <tbody>
              {problems.map((p) => (
                <tr key={p.id} className="align-top">
                  <td className="py-0.5 pr-3">
                    <Badge value={p.verdict} />
                    <ReasonCode code={p.reasonCode} />
                  </td>
                  <td className="pr-3">{p.target}</td>
                  <td className="pr-3">
                    <UserLabel userId={p.userId} label={label(p.target, p.userId)} />
                  </td>
                  <td className="pr-3">
                    <span className="line-clamp-2" title={p.summary}>
                      <TextLink href={`/probes/${p.id}`}>{p.summary}</TextLink>
                    </span>
                  </td>
                  <td className="text-xs">
                    <Time value={p.startedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No user's latest probe shows a problem.</Empty>
        )}
      </Card>
      <ReplicationHealthCard scope={access.scope} />
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
        {health.map((h) => {
          const trend = trends.find((t) => t.target === h.target);
          return (
            <Card key={h.target} title={h.target}>
              <div className="mb-2 flex flex-wrap gap-2" data-testid={`health-${h.target}`}>
                <span>
                  service <Badge value={h.live ? 'up' : 'down'} />
                </span>
                <span>
                  ready <Badge value={h.ready ? 'up' : 'down'} />
                </span>
                <span>
                  replication lag{' '}
                  <span className="font-mono tabular-nums">
                    {h.replicationLagSeconds !== null
                      ? `${h.replicationLagSeconds.toFixed(2)} s`
                      : h.replicationLagBytes !== null
                        ? `${h.replicationLagBytes} bytes`
                        : 'n/a'}
                  </span>
                </span>
              </div>
              {h.problem ? <p className="mb-2 text-rose-700 dark:text-rose-400">{h.problem}</p> : null}
              {roleAllows(roleOn(access.user.grants, h.target), 'operator') ? (
                <WriteProbeButton target={h.target} />
              ) : null}
              <p className="mb-1 text-xs text-zinc-500">
                Last {trend?.recent.length ?? 0} probes (oldest → newest)
              </p>
              <div className="flex gap-0.5">
                {trend?.recent.map((r) => (
                  <a
                    key={r.id}
                    href={`/probes/${r.id}`}
                    title={`${r.verdict} · ${label(h.target, r.userId) ?? ''} ${r.userId}`}
                    className={`h-4 w-2 rounded-sm ${VERDICT_DOT[r.verdict as keyof typeof VERDICT_DOT] ?? 'bg-zinc-400'}`}
                  >
                    <span className="sr-only">{r.verdict}</span>
                  </a>
                ))}
              </div>
              <p className="mt-2 text-xs text-zinc-500">24 h: {verdictCountsText(trend?.last24h ?? {})}</p>
            </Card>
          );
        })}
        {health.length === 0 ? <Empty>No targets configured.</Empty> : null}
      </div>
    </>
  );
}
