import type pg from 'pg';

/**
 * A stuck upload queue: the same operation failing at least `minFailures` times in a row from one
 * client, the last time within `withinHours` (the console's /uploads lists them with the same bounds).
 */
export const STUCK_QUEUE = { minFailures: 3, withinHours: 24 } as const;

/** Stuck queues per target, for `syncscope_upload_stuck_queues` (targets with none are absent). */
export async function countStuckQueues(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ target: string; n: number }>(
    `SELECT target, count(*)::int AS n FROM syncscope.upload_error_streaks
     WHERE failures >= $1 AND last_failed_at > now() - make_interval(hours => $2)
     GROUP BY target`,
    [STUCK_QUEUE.minFailures, STUCK_QUEUE.withinHours]
  );
  return new Map(rows.map((r) => [r.target, r.n]));
}
