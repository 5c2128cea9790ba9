import 'server-only';
import { explainRow, type RowTrace } from '@syncscope/core/probe/explain/explain-row';
import type { RowDifference } from '@syncscope/core/probe/probe-types';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { audit } from '@/server/audit';
import { opsPool } from '@/server/ops-pool';
import { loadTarget } from '@/server/targets';

export interface HolderSighting {
  userId: string;
  runId: string;
  startedAt: Date;
  verdict: string;
  /** What that probe saw of the row: a difference kind, or `present` (in a bucket and no difference). */
  saw: string;
}

/** Traces a row through the target's rules (read-only snapshot) and audits who asked. */
export async function traceRow(input: {
  target: string;
  table: string;
  id: string;
  userId?: string;
  actor: string;
}): Promise<RowTrace> {
  const target = await loadTarget(input.target);
  const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
  const trace = await explainRow({
    sourceUrl: target.sourceUrl,
    rules,
    table: input.table,
    id: input.id,
    userId: input.userId || undefined,
    statementTimeoutMs: 10_000
  });
  await audit({
    actor: input.actor,
    action: 'explain.run',
    target: input.target,
    subjectUser: input.userId || undefined,
    details: { table: input.table, id: input.id }
  });
  return trace;
}

/** The latest probe of each holder (at most 50) and what it saw of this row. */
export async function latestSightings(
  target: string,
  userIds: string[],
  /** The output tables the row is synced as (a difference names the output table). */
  tables: string[],
  id: string
): Promise<HolderSighting[]> {
  if (userIds.length === 0) return [];
  const { rows } = await opsPool().query<{
    userId: string;
    runId: string;
    startedAt: Date;
    verdict: string;
    diff: RowDifference | null;
  }>(
    `SELECT DISTINCT ON (r.user_id) r.user_id AS "userId", r.id AS "runId", r.started_at AS "startedAt", r.verdict,
       (SELECT d FROM jsonb_array_elements(r.report->'rows'->'differences') d
        WHERE d->>'id' = $4 AND d->>'table' = ANY($3) LIMIT 1) AS diff
     FROM syncscope.probe_runs r WHERE r.target = $1 AND r.user_id = ANY($2)
     ORDER BY r.user_id, r.started_at DESC LIMIT 50`,
    [target, userIds, tables, id]
  );
  return rows.map((r) => ({
    userId: r.userId,
    runId: r.runId,
    startedAt: r.startedAt,
    verdict: r.verdict,
    saw: r.diff
      ? `${r.diff.kind} (${r.diff.settled})`
      : r.verdict === 'error'
        ? 'unknown (probe failed)'
        : 'present'
  }));
}
