import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { HighlightedYaml } from '@/features/sync-rules/highlighted-yaml';
import { rulesOverview } from '@/features/sync-rules/rules-overview.server';
import { listTargets } from '@/server/targets';
import { Card, Empty, ErrorBox, Mono, PageHeader, TextLink } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Sync rules' };

export default async function RulesPage({ searchParams }: { searchParams: Promise<{ target?: string }> }) {
  const access = await requirePage('/rules');
  const asked = (await searchParams).target;
  if (asked) access.requireTarget(asked);
  const targets = access.allowed(await listTargets());
  const target = asked ?? targets[0];
  if (!target) return <Empty>No targets configured that you may see.</Empty>;
  let overview: Awaited<ReturnType<typeof rulesOverview>>;
  try {
    overview = await rulesOverview(target);
  } catch (error) {
    return <ErrorBox>{(error as Error).message}</ErrorBox>;
  }
  return (
    <>
      <PageHeader title={`Sync rules · ${target}`}>
        <nav className="flex gap-3 text-xs">
          {targets.map((t) => (
            <TextLink key={t} href={`/rules?target=${encodeURIComponent(t)}`}>
              {t}
            </TextLink>
          ))}
        </nav>
      </PageHeader>
      <p className="mb-3 text-xs text-zinc-500">
        From <Mono>{overview.source}</Mono>
      </p>
      <Card
        title={`Problems reported by the sync-rules library (${overview.problems.length})`}
        className="mb-4"
      >
        {overview.problems.length ? (
          <ul className="space-y-1" data-testid="rules-problems">
            {overview.problems.map((p) => (
              <li
                key={`${p.line}:${p.column}:${p.message}`}
                className={
                  p.severity === 'fatal'
                    ? 'text-rose-700 dark:text-rose-400'
                    : 'text-amber-700 dark:text-amber-400'
                }
              >
                {p.severity} · line {p.line}: {p.message}
              </li>
            ))}
          </ul>
        ) : (
          <p>The rules validate without errors or warnings.</p>
        )}
      </Card>
      <div className="grid gap-4 xl:grid-cols-2">
        <HighlightedYaml text={overview.yaml} problemLines={new Set(overview.problems.map((p) => p.line))} />
        <div className="space-y-3">
          {overview.definitions.map((d) => (
            <Card key={d.name} title={d.name}>
              <p className="text-xs text-zinc-500">Parameter queries (which buckets a user gets)</p>
              <ul className="mb-2 space-y-1">
                {d.parameterQueries.length ? (
                  d.parameterQueries.map((q) => (
                    <li key={q}>
                      <Mono>{q}</Mono>
                    </li>
                  ))
                ) : (
                  <li className="text-xs">none: one global bucket</li>
                )}
              </ul>
              <p className="text-xs text-zinc-500">Data queries (which rows fill each bucket)</p>
              <ul className="space-y-1">
                {d.dataQueries.map((q) => (
                  <li key={q}>
                    <Mono>{q}</Mono>
                  </li>
                ))}
              </ul>
            </Card>
          ))}
        </div>
      </div>
    </>
  );
}
