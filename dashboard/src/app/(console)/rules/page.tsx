import { roleAllows, roleOn } from '@syncscope/core/console-users/console-users';
import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { bucketBudgetsOf } from '@/features/sync-rules/bucket-budgets.server';
import { BudgetsView } from '@/features/sync-rules/budgets-view';
import { CoverageView } from '@/features/sync-rules/coverage-view';
import { HighlightedYaml } from '@/features/sync-rules/highlighted-yaml';
import { LintCard } from '@/features/sync-rules/lint-card';
import { rulesCoverage, rulesLint } from '@/features/sync-rules/rules-insight.server';
import { rulesOverview } from '@/features/sync-rules/rules-overview.server';
import { userLabels } from '@/features/user-labels/user-labels.server';
import { listTargets } from '@/server/targets';
import { Card, Empty, ErrorBox, Mono, PageHeader, TextLink } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Sync rules' };

const VIEWS = { rules: 'Rules and lint', coverage: 'Coverage', budgets: 'Bucket budgets' } as const;
type View = keyof typeof VIEWS;

function Tabs({ target, view, dryRun }: { target: string; view: View; dryRun: boolean }) {
  return (
    <nav
      className="mb-4 flex gap-4 border-b border-zinc-200 text-sm dark:border-zinc-800"
      data-testid="rules-tabs"
    >
      {(Object.keys(VIEWS) as View[]).map((v) => (
        <a
          key={v}
          href={`/rules?target=${encodeURIComponent(target)}${v === 'rules' ? '' : `&view=${v}`}`}
          aria-current={v === view ? 'page' : undefined}
          className={`-mb-px border-b-2 px-1 pb-1 ${v === view ? 'border-sky-600 font-semibold' : 'border-transparent text-zinc-500'}`}
        >
          {VIEWS[v]}
        </a>
      ))}
      {dryRun ? (
        <a
          href={`/rules/dry-run?target=${encodeURIComponent(target)}`}
          className="-mb-px border-b-2 border-transparent px-1 pb-1 text-zinc-500"
        >
          Dry run
        </a>
      ) : null}
    </nav>
  );
}

async function CoverageTab({ target }: { target: string }) {
  const coverage = await rulesCoverage(target);
  if (!coverage.ok) return <ErrorBox>{coverage.message}</ErrorBox>;
  const users = coverage.value.usersWithoutBuckets?.sampleUserIds ?? [];
  const labels = await userLabels(users.map((userId) => ({ target, userId })));
  return <CoverageView target={target} report={coverage.value} labels={labels} />;
}

async function BudgetsTab({ target }: { target: string }) {
  let reading: Awaited<ReturnType<typeof bucketBudgetsOf>>;
  try {
    reading = await bucketBudgetsOf(target);
  } catch (error) {
    return <ErrorBox>{(error as Error).message}</ErrorBox>;
  }
  return reading ? (
    <BudgetsView reading={reading} target={target} />
  ) : (
    <Empty>
      No bucket budgets yet: an agent computes them with coverage (every rules_insight.every_seconds) and
      stores them in the ops database. `syncscope rules budgets --target {target}` computes them now.
    </Empty>
  );
}

async function RulesTab({ target }: { target: string }) {
  let overview: Awaited<ReturnType<typeof rulesOverview>>;
  try {
    overview = await rulesOverview(target);
  } catch (error) {
    return <ErrorBox>{(error as Error).message}</ErrorBox>;
  }
  const fatal = overview.problems.some((p) => p.severity === 'fatal');
  const lint = fatal ? undefined : await rulesLint(target);
  return (
    <>
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
      {lint ? <LintCard lint={lint} /> : null}
      <div className="grid gap-4 xl:grid-cols-2">
        <HighlightedYaml
          text={overview.yaml}
          problemLines={new Set(overview.problems.map((p) => p.line))}
          findings={lint?.ok ? lint.value : []}
        />
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

export default async function RulesPage({
  searchParams
}: {
  searchParams: Promise<{ target?: string; view?: string }>;
}) {
  const access = await requirePage('/rules');
  const { target: asked, view: askedView } = await searchParams;
  if (asked) access.requireTarget(asked);
  const targets = access.allowed(await listTargets());
  const target = asked ?? targets[0];
  if (!target) return <Empty>No targets configured that you may see.</Empty>;
  const view: View = askedView && Object.hasOwn(VIEWS, askedView) ? (askedView as View) : 'rules';
  return (
    <>
      <PageHeader title={`Sync rules · ${target}`}>
        <nav className="flex gap-3 text-xs">
          {targets.map((t) => (
            <TextLink
              key={t}
              href={`/rules?target=${encodeURIComponent(t)}${view === 'rules' ? '' : `&view=${view}`}`}
            >
              {t}
            </TextLink>
          ))}
        </nav>
      </PageHeader>
      <Tabs target={target} view={view} dryRun={roleAllows(roleOn(access.user.grants, target), 'operator')} />
      {view === 'coverage' ? (
        <CoverageTab target={target} />
      ) : view === 'budgets' ? (
        <BudgetsTab target={target} />
      ) : (
        <RulesTab target={target} />
      )}
    </>
  );
}
