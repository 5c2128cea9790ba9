/**
 * The bucket-limit lint: the user with the most buckets (the budgets' query, core/src/rules-insight/
 * budgets/) against the service's limit; a warning above 80 % of it, an error over it.
 */
import type pg from 'pg';
import type { BudgetPart } from '../budgets/budget-sources.ts';
import { computeBudgets } from '../budgets/compute-budgets.ts';
import type { SourceAnalysis } from '../coverage/source-analysis.ts';
import type { LintFinding } from './lint-rules.ts';

type Queryable = Pick<pg.Client, 'query'>;

export async function bucketLimitFinding(
  client: Queryable,
  a: SourceAnalysis,
  limit: number
): Promise<LintFinding | undefined> {
  const near = limit * 0.8;
  const report = await computeBudgets(client, a, {
    limit,
    thresholds: [near],
    listSize: 1,
    historySize: 1,
    snapshotTakenAt: ''
  });
  const fixed = report.fixed.reduce((sum, p) => sum + p.buckets, 0);
  // No user known (no user-id lookup, no users table): what every user gets is still a budget.
  const top: { user?: string; buckets: number; parts: BudgetPart[] } | undefined =
    report.listed[0] ?? (fixed > near ? { buckets: fixed, parts: report.fixed } : undefined);
  if (!top) return undefined;
  const breakdown = top.parts
    .map((p) => `${p.definition} (line ${p.line}): ${p.buckets.toLocaleString('en-US')}`)
    .join(', ');
  const over = top.buckets > limit;
  return {
    rule: 'bucket-limit',
    severity: over ? 'error' : 'warning',
    line: top.parts[0]?.line ?? 0,
    message: `${top.user ? `User ${top.user}` : 'The user with the most buckets'} gets up to ${top.buckets.toLocaleString('en-US')} buckets (${breakdown}); the service refuses a connection over ${limit.toLocaleString('en-US')} (PSYNC_S2305: too many buckets)${over ? '' : ', and this is within 20% of it'}.`,
    fix: 'give fewer, larger buckets (e.g. one per organisation rather than per project, filtering rows in the app), or raise api.parameters.max_buckets_per_connection in the service config and rules_insight.bucket_limit in the targets file together'
  };
}
