import 'server-only';
import { STUCK_QUEUE } from '@syncscope/core/upload-errors/stuck-queues';
import { opsPool } from '@/server/ops-pool';

export interface ErrorGroup {
  id: string;
  target: string;
  tableName: string;
  detailPattern: string;
  exampleDetail: string;
  exampleCode: string | null;
  retryable: boolean;
  occurrences: number;
  firstSeen: Date;
  lastSeen: Date;
  /** Occurrences per hour over the last 24 hours, oldest first. */
  hourly: number[];
}

export interface StuckQueue {
  target: string;
  clientId: string;
  userId: string;
  tableName: string;
  rowId: string;
  op: string;
  failures: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  lastDetail: string;
  lastRetryable: boolean;
  groupId: string;
}

/** Groups by last seen, with 24 hourly counts each: read from the aggregates kept at ingest. */
export async function listErrorGroups(
  filters: { scope: string[] | null; target?: string; retryable?: string },
  limit = 100
): Promise<ErrorGroup[]> {
  const { rows } = await opsPool().query<ErrorGroup>(
    `SELECT g.id, g.target, g.table_name AS "tableName", g.detail_pattern AS "detailPattern",
       g.example_detail AS "exampleDetail", g.example_code AS "exampleCode", g.retryable,
       g.occurrences::int AS occurrences, g.first_seen AS "firstSeen", g.last_seen AS "lastSeen",
       ARRAY(SELECT coalesce(h.occurrences, 0)::int
             FROM generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS s(hour)
             LEFT JOIN syncscope.upload_error_hourly h ON h.group_id = g.id AND h.hour = s.hour
             ORDER BY s.hour) AS hourly
     FROM syncscope.upload_error_groups g
     WHERE ($1::text IS NULL OR g.target = $1) AND ($2::boolean IS NULL OR g.retryable = $2)
       AND ($4::text[] IS NULL OR g.target = ANY($4))
     ORDER BY g.last_seen DESC LIMIT $3`,
    [
      filters.target || null,
      filters.retryable === 'retryable' ? true : filters.retryable === 'final' ? false : null,
      limit,
      filters.scope
    ]
  );
  return rows;
}

/** The same operation failing at least `minFailures` times in a row from one client, recently. */
export async function listStuckQueues(
  scope: string[] | null,
  minFailures: number = STUCK_QUEUE.minFailures,
  withinHours: number = STUCK_QUEUE.withinHours
): Promise<StuckQueue[]> {
  const { rows } = await opsPool().query<StuckQueue>(
    `SELECT target, client_id AS "clientId", user_id AS "userId", table_name AS "tableName", row_id AS "rowId", op,
       failures::int AS failures, first_failed_at AS "firstFailedAt", last_failed_at AS "lastFailedAt",
       last_detail AS "lastDetail", last_retryable AS "lastRetryable", last_group_id AS "groupId"
     FROM syncscope.upload_error_streaks
     WHERE failures >= $1 AND last_failed_at > now() - make_interval(hours => $2)
       AND ($3::text[] IS NULL OR target = ANY($3))
     ORDER BY last_failed_at DESC LIMIT 50`,
    [minFailures, withinHours, scope]
  );
  return rows;
}

export interface Occurrence {
  id: string;
  occurredAt: Date;
  userId: string;
  clientId: string | null;
  rowId: string | null;
  op: string | null;
  code: string | null;
  detail: string;
  data: unknown;
}

export async function getErrorGroup(id: string): Promise<ErrorGroup | null> {
  if (!/^\d+$/.test(id)) return null;
  const { rows } = await opsPool().query<ErrorGroup>(
    `SELECT id, target, table_name AS "tableName", detail_pattern AS "detailPattern", example_detail AS "exampleDetail",
       example_code AS "exampleCode", retryable, occurrences::int AS occurrences, first_seen AS "firstSeen",
       last_seen AS "lastSeen", ARRAY[]::int[] AS hourly
     FROM syncscope.upload_error_groups WHERE id = $1`,
    [id]
  );
  return rows[0] ?? null;
}

export async function groupOccurrences(
  groupId: string,
  offset: number,
  limit: number
): Promise<Occurrence[]> {
  const { rows } = await opsPool().query<Occurrence>(
    `SELECT id, occurred_at AS "occurredAt", user_id AS "userId", client_id AS "clientId", row_id AS "rowId", op,
       code, detail, data
     FROM syncscope.upload_errors WHERE group_id = $1 ORDER BY occurred_at DESC, id DESC OFFSET $2 LIMIT $3`,
    [groupId, offset, limit]
  );
  return rows;
}

/** Who is affected: users and clients among the group's latest 10,000 occurrences. */
export async function groupAudience(
  groupId: string
): Promise<{ users: { id: string; n: number }[]; clients: { id: string; n: number }[] }> {
  const recent = `SELECT user_id, client_id FROM syncscope.upload_errors WHERE group_id = $1 ORDER BY occurred_at DESC LIMIT 10000`;
  const [users, clients] = await Promise.all([
    opsPool().query<{ id: string; n: number }>(
      `SELECT user_id AS id, count(*)::int AS n FROM (${recent}) r GROUP BY 1 ORDER BY 2 DESC LIMIT 20`,
      [groupId]
    ),
    opsPool().query<{ id: string; n: number }>(
      `SELECT client_id AS id, count(*)::int AS n FROM (${recent}) r WHERE client_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 20`,
      [groupId]
    )
  ]);
  return { users: users.rows, clients: clients.rows };
}
