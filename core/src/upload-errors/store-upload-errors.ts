import type pg from 'pg';
import type { UploadReport } from './ingest-report.ts';
import { normaliseErrorDetail } from './normalise-detail.ts';
import { DEFAULT_REDACTED_FIELDS, redactFields } from './redact.ts';

export interface ReportForTarget {
  target: string;
  report: UploadReport;
}

interface FailureRow {
  target: string;
  report_id: string;
  op_index: number;
  occurred_at: string;
  user_id: string;
  client_id: string | null;
  table_name: string;
  row_id: string | null;
  op: string | null;
  code: string | null;
  detail: string;
  detail_pattern: string;
  retryable: boolean;
  data: unknown;
}

function failureRows(entries: ReportForTarget[], redacted: readonly string[]): FailureRow[] {
  return entries.flatMap(({ target, report }) =>
    report.results
      .filter((r) => !r.ok)
      .map((r) => {
        const detail = r.detail || r.code || 'no detail given';
        return {
          target,
          report_id: report.reportId,
          op_index: r.index,
          occurred_at: report.occurredAt,
          user_id: report.userId,
          client_id: report.clientId ?? null,
          table_name: r.table ?? '(unknown)',
          row_id: r.id,
          op: r.op,
          code: r.code ?? null,
          detail,
          detail_pattern: normaliseErrorDetail(detail),
          retryable: r.retryable ?? false,
          data: r.data === undefined ? null : redactFields(r.data, redacted)
        };
      })
  );
}

function successKeys(entries: ReportForTarget[]) {
  return entries.flatMap(({ target, report }) =>
    report.clientId
      ? report.results
          .filter((r) => r.ok && r.id && r.op && r.table)
          .map((r) => ({ target, client_id: report.clientId, table_name: r.table, row_id: r.id, op: r.op }))
      : []
  );
}

const FAILURE_RECORD = `x(target text, report_id text, op_index int, occurred_at timestamptz, user_id text,
  client_id text, table_name text, row_id text, op text, code text, detail text, detail_pattern text,
  retryable boolean, data jsonb)`;

/**
 * Stores reports in one transaction: groups upserted, new failures inserted (a resent report's are
 * skipped by the unique key), and the group counts, hourly counts and per-operation failure streaks
 * updated from what was actually inserted. An operation that later succeeds ends its streak.
 * Returns how many failures each report added.
 */
export async function storeUploadReports(
  client: pg.PoolClient,
  entries: ReportForTarget[],
  redacted: readonly string[] = DEFAULT_REDACTED_FIELDS
): Promise<Map<string, number>> {
  const failures = failureRows(entries, redacted);
  const successes = successKeys(entries);
  const added = new Map<string, number>();
  await client.query('BEGIN');
  try {
    if (failures.length > 0) {
      const json = JSON.stringify(failures);
      await client.query(
        `INSERT INTO syncscope.upload_error_groups
           (target, table_name, detail_pattern, retryable, example_detail, example_code, first_seen, last_seen)
         SELECT target, table_name, detail_pattern, retryable, min(detail), min(code), min(occurred_at), max(occurred_at)
         FROM jsonb_to_recordset($1::jsonb) AS ${FAILURE_RECORD}
         GROUP BY 1, 2, 3, 4
         ORDER BY 1, 2, 3, 4
         ON CONFLICT (target, table_name, detail_pattern, retryable) DO UPDATE
           SET last_seen = greatest(upload_error_groups.last_seen, EXCLUDED.last_seen),
               first_seen = least(upload_error_groups.first_seen, EXCLUDED.first_seen)`,
        [json]
      );
      const { rows } = await client.query<{ target: string; report_id: string; n: number }>(
        `WITH inserted AS (
           INSERT INTO syncscope.upload_errors (group_id, target, report_id, op_index, occurred_at, user_id, client_id,
             table_name, row_id, op, code, detail, retryable, data)
           SELECT g.id, x.target, x.report_id, x.op_index, x.occurred_at, x.user_id, x.client_id, x.table_name,
             x.row_id, x.op, x.code, x.detail, x.retryable, x.data
           FROM jsonb_to_recordset($1::jsonb) AS ${FAILURE_RECORD}
           JOIN syncscope.upload_error_groups g ON g.target = x.target AND g.table_name = x.table_name
             AND g.detail_pattern = x.detail_pattern AND g.retryable = x.retryable
           ON CONFLICT (target, report_id, op_index) DO NOTHING
           RETURNING *
         ), counted AS (
           UPDATE syncscope.upload_error_groups g SET occurrences = g.occurrences + c.n
           FROM (SELECT group_id, count(*) AS n FROM inserted GROUP BY 1) c WHERE g.id = c.group_id
           RETURNING 1
         ), hourly AS (
           INSERT INTO syncscope.upload_error_hourly (group_id, hour, occurrences)
           SELECT group_id, date_trunc('hour', occurred_at), count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
           ON CONFLICT (group_id, hour) DO UPDATE
             SET occurrences = upload_error_hourly.occurrences + EXCLUDED.occurrences
           RETURNING 1
         ), streaks AS (
           INSERT INTO syncscope.upload_error_streaks (target, client_id, table_name, row_id, op, user_id, failures,
             first_failed_at, last_failed_at, last_detail, last_retryable, last_group_id)
           SELECT target, client_id, table_name, row_id, op, (array_agg(user_id ORDER BY occurred_at DESC))[1],
             count(*), min(occurred_at), max(occurred_at), (array_agg(detail ORDER BY occurred_at DESC))[1],
             (array_agg(retryable ORDER BY occurred_at DESC))[1], (array_agg(group_id ORDER BY occurred_at DESC))[1]
           FROM inserted WHERE client_id IS NOT NULL AND row_id IS NOT NULL AND op IS NOT NULL
           GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
           ON CONFLICT (target, client_id, table_name, row_id, op) DO UPDATE SET
             failures = upload_error_streaks.failures + EXCLUDED.failures,
             last_failed_at = greatest(upload_error_streaks.last_failed_at, EXCLUDED.last_failed_at),
             last_detail = EXCLUDED.last_detail, last_retryable = EXCLUDED.last_retryable,
             last_group_id = EXCLUDED.last_group_id, user_id = EXCLUDED.user_id
           RETURNING 1
         )
         -- Postgres runs every data-modifying CTE to completion, read or not.
         SELECT target, report_id, count(*)::int AS n FROM inserted GROUP BY 1, 2`,
        [json]
      );
      for (const row of rows) added.set(reportKey(row.target, row.report_id), row.n);
    }
    if (successes.length > 0)
      await client.query(
        `DELETE FROM syncscope.upload_error_streaks s
         USING jsonb_to_recordset($1::jsonb) AS ok(target text, client_id text, table_name text, row_id text, op text)
         WHERE s.target = ok.target AND s.client_id = ok.client_id AND s.table_name = ok.table_name
           AND s.row_id = ok.row_id AND s.op = ok.op`,
        [JSON.stringify(successes)]
      );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return added;
}

export const reportKey = (target: string, reportId: string) => `${target}\u0000${reportId}`;
