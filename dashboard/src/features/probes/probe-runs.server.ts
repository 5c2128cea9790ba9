import 'server-only';
import { type ExpandedReport, expandCompactReport } from '@syncscope/core/fleet-results/compact-report';
import { type ProbeReport, type RowDifference, upgradeProbeReport } from '@syncscope/core/probe/probe-types';
import type { StreamSubscription } from '@syncscope/core/sync-rules/stream-subscriptions';
import type { WriteProbeReport } from '@syncscope/core/write-probe/write-probe-types';
import { opsPool } from '@/server/ops-pool';

export interface ProbeRunSummary {
  id: string;
  kind: 'read' | 'write';
  /** Which probe ran: the real client (full) or the protocol-level light probe (migration 1700000000011). */
  mode: 'full' | 'light';
  target: string;
  userId: string;
  /** The sync streams the probe's client subscribed to, besides the default ones. */
  subscriptions: StreamSubscription[];
  verdict: string;
  /** The catalogue code of a run that is not consistent (verdicts.ts), null for older runs. */
  reasonCode: string | null;
  summary: string;
  startedAt: Date;
  durationMs: number;
  requestedBy: string | null;
}

export interface ProbeRunFilters {
  /** The targets the reader may see, null for all (Access.scope). */
  scope: string[] | null;
  target?: string;
  user?: string;
  verdict?: string;
  /** A reason code (validated by the page: reasonParam). */
  reason?: string;
  since?: string;
  until?: string;
}

/** A run's reason code: the catalogue code stored beside its report (migration 1700000000007). */
export const REASON_CODE_SQL = 'reason_code';

const SUMMARY_COLUMNS = `id, kind, mode, target, user_id AS "userId", subscriptions, verdict,
  ${REASON_CODE_SQL} AS "reasonCode", summary, started_at AS "startedAt",
  duration_ms AS "durationMs", requested_by AS "requestedBy"`;

function whereClause(filters: ProbeRunFilters): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    parts.push(sql.replace('?', `$${values.length}`));
  };
  if (filters.scope) add('target = ANY(?)', filters.scope);
  if (filters.target) add('target = ?', filters.target);
  if (filters.user) add('user_id = ?', filters.user);
  if (filters.verdict) add('verdict = ?', filters.verdict);
  if (filters.reason) add(`${REASON_CODE_SQL} = ?`, filters.reason);
  if (filters.since && !Number.isNaN(Date.parse(filters.since))) add('started_at >= ?', filters.since);
  if (filters.until && !Number.isNaN(Date.parse(filters.until))) add('started_at < ?', filters.until);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', values };
}

/** A page of the probe history, newest first, with the total for the filters. */
export async function listProbeRuns(
  filters: ProbeRunFilters,
  offset: number,
  limit: number
): Promise<{ runs: ProbeRunSummary[]; total: number }> {
  const where = whereClause(filters);
  const n = where.values.length;
  const [page, count] = await Promise.all([
    opsPool().query<ProbeRunSummary>(
      `SELECT ${SUMMARY_COLUMNS} FROM syncscope.probe_runs ${where.sql}
       ORDER BY started_at DESC, id OFFSET $${n + 1} LIMIT $${n + 2}`,
      [...where.values, offset, limit]
    ),
    opsPool().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM syncscope.probe_runs ${where.sql}`,
      where.values
    )
  ]);
  return { runs: page.rows, total: count.rows[0]!.n };
}

/**
 * A read probe's report as the detail page loads it: without its row differences (paged separately); a
 * consistent run's compact report expanded, with bucket counts (`compactBuckets`) instead of bucket lists.
 */
export type ReadReport = ExpandedReport<
  Omit<ProbeReport, 'rows'> & { rows: Omit<ProbeReport['rows'], 'differences'> }
>;

export const isWriteReport = (report: ReadReport | WriteProbeReport): report is WriteProbeReport =>
  'kind' in report && report.kind === 'write';

export interface ProbeRunDetail extends ProbeRunSummary {
  jobId: string | null;
  /** The report without its row differences (read page by page with probeRunDifferences). */
  report: ReadReport | WriteProbeReport;
  differenceCount: number;
  differenceKinds: Record<string, number>;
}

export async function getProbeRun(id: string): Promise<ProbeRunDetail | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await opsPool().query<ProbeRunDetail>(
    `SELECT ${SUMMARY_COLUMNS}, job_id AS "jobId", report #- '{rows,differences}' AS report,
       coalesce(jsonb_array_length(report->'rows'->'differences'), 0) AS "differenceCount",
       (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM (
          SELECT d->>'kind' || '/' || (d->>'settled') AS k, count(*) AS n
          FROM jsonb_array_elements(report->'rows'->'differences') d GROUP BY 1) kinds) AS "differenceKinds"
     FROM syncscope.probe_runs WHERE id = $1`,
    [id]
  );
  const run = rows[0];
  if (!run) return null;
  // Runs stored before the four verdicts carry their code in `error` only.
  const report = isWriteReport(run.report) ? run.report : expandCompactReport(run.report, run);
  return { ...run, report: upgradeProbeReport(report) };
}

/** One page of a run's row differences, optionally of one kind, in report order. */
export async function probeRunDifferences(
  id: string,
  options: { offset: number; limit: number; kind?: string; table?: string }
): Promise<{ differences: RowDifference[]; total: number }> {
  const { rows } = await opsPool().query<{ diff: RowDifference; total: number }>(
    `SELECT d AS diff, count(*) OVER ()::int AS total
     FROM syncscope.probe_runs r, jsonb_array_elements(r.report->'rows'->'differences') WITH ORDINALITY AS x(d, n)
     WHERE r.id = $1 AND ($2::text IS NULL OR d->>'kind' = $2) AND ($3::text IS NULL OR d->>'table' = $3)
     ORDER BY n OFFSET $4 LIMIT $5`,
    [id, options.kind ?? null, options.table ?? null, options.offset, options.limit]
  );
  return { differences: rows.map((r) => r.diff), total: rows[0]?.total ?? 0 };
}
