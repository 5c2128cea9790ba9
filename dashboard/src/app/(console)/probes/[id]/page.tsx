import { roleAllows, roleOn } from '@syncscope/core/console-users/console-users';
import { reportCompared } from '@syncscope/core/probe/verdicts';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';
import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { requirePage } from '@/features/auth/guard.server';
import { DifferencesTable } from '@/features/probes/differences-table';
import { ProbeResult } from '@/features/probes/probe-result';
import { getProbeRun, isWriteReport, probeRunDifferences } from '@/features/probes/probe-runs.server';
import { WriteProbeResult } from '@/features/probes/write-probe-result';
import { userLabels } from '@/features/user-labels/user-labels.server';
import { VerdictReason } from '@/features/verdicts/verdict-reason';
import { Badge, Card, Empty, PageHeader, Pager, TextLink } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Probe result' };
const PAGE = 50;

export default async function ProbeRunPage({
  params,
  searchParams
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ offset?: string; kind?: string; table?: string }>;
}) {
  const access = await requirePage('/probes/[id]');
  const { id } = await params;
  const query = await searchParams;
  const run = await getProbeRun(id);
  if (!run) notFound();
  access.requireTarget(run.target);
  const userLabel = (await userLabels([run]))(run.target, run.userId);
  if (isWriteReport(run.report))
    return (
      <>
        <PageHeader title={`Write probe on ${run.target}`} />
        <div className="mb-4 flex flex-wrap items-center gap-3">
          <Badge value={run.verdict} />
          <p className="font-medium" data-testid="probe-summary">
            {run.summary}
          </p>
        </div>
        <VerdictReason
          verdict={run.verdict}
          code={run.reasonCode}
          message={
            'reason' in run.report
              ? (run.report.reason as { message?: string } | undefined)?.message
              : undefined
          }
        />
        <WriteProbeResult report={run.report} />
      </>
    );
  const offset = Math.max(0, Number(query.offset) || 0);
  const kind = ['missing', 'extra', 'different'].includes(query.kind ?? '') ? query.kind : undefined;
  const { differences, total } = await probeRunDifferences(id, {
    offset,
    limit: PAGE,
    kind,
    table: query.table
  });
  const base = `/probes/${id}`;
  return (
    <>
      <PageHeader title={`Probe of ${userLabel ?? run.userId} on ${run.target}`}>
        {roleAllows(roleOn(access.user.grants, run.target), 'operator') ? (
          <TextLink
            href={`/probe?${new URLSearchParams({
              target: run.target,
              user: run.userId,
              ...(run.subscriptions.length
                ? { subscriptions: run.subscriptions.map(formatSubscription).join('\n') }
                : {})
            })}`}
          >
            probe again
          </TextLink>
        ) : null}
      </PageHeader>
      <ProbeResult run={run} report={run.report} userLabel={userLabel} />
      {reportCompared(run.report) ? (
        <Card
          className="mt-4"
          title={`Row differences (${run.differenceCount.toLocaleString('en')}${
            run.report.rows.differencesOmitted
              ? ` listed; ${run.report.rows.differencesOmitted.toLocaleString('en')} more counted but not listed`
              : ''
          })`}
        >
          <nav className="mb-2 flex gap-3 text-xs" aria-label="difference kinds">
            {[undefined, 'missing', 'extra', 'different'].map((k) => (
              <TextLink key={k ?? 'all'} href={k ? `${base}?kind=${k}` : base}>
                {k ?? 'all'}
                {k ? ` (${sumKinds(run.differenceKinds, k)})` : ''}
              </TextLink>
            ))}
          </nav>
          {differences.length ? (
            <>
              <DifferencesTable rows={differences} target={run.target} userId={run.userId} />
              <Pager
                basePath={base}
                params={{ kind, table: query.table }}
                offset={offset}
                limit={PAGE}
                total={total}
              />
            </>
          ) : (
            <Empty>
              {run.differenceCount
                ? 'No differences of this kind.'
                : 'Every expected row is present and equal.'}
            </Empty>
          )}
        </Card>
      ) : null}
    </>
  );
}

function sumKinds(kinds: Record<string, number>, kind: string): number {
  return Object.entries(kinds)
    .filter(([k]) => k.startsWith(`${kind}/`))
    .reduce((n, [, v]) => n + Number(v), 0);
}
