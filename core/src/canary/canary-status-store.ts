import type pg from 'pg';
import type { CanaryStatus } from './held-canary.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/**
 * Upserts a canary's state into syncscope.canary_status (migration 10), which the console's fleet view
 * reads. An older evaluation never overwrites a newer one (two agents holding the same canary).
 * `freshnessSeconds` is the last marker's lag on this canary's stream (kept when not given).
 */
export async function storeCanaryStatus(
  db: Queryable,
  status: CanaryStatus,
  agent: string,
  freshnessSeconds?: number
): Promise<void> {
  await db.query(
    `INSERT INTO syncscope.canary_status
       (target, user_id, agent, verdict, reason_code, held_since, last_checkpoint_at, last_freshness_seconds, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (target, user_id) DO UPDATE SET agent = EXCLUDED.agent, verdict = EXCLUDED.verdict,
       reason_code = EXCLUDED.reason_code, held_since = EXCLUDED.held_since,
       last_checkpoint_at = EXCLUDED.last_checkpoint_at,
       last_freshness_seconds = COALESCE(EXCLUDED.last_freshness_seconds, syncscope.canary_status.last_freshness_seconds),
       updated_at = EXCLUDED.updated_at
     WHERE syncscope.canary_status.updated_at <= EXCLUDED.updated_at`,
    [
      status.target,
      status.userId,
      agent,
      status.verdict,
      status.reason?.code ?? null,
      status.heldSince,
      status.lastCheckpointAt,
      freshnessSeconds ?? null,
      status.evaluatedAt
    ]
  );
}

/** Canaries no longer held by this agent (removed from the targets file, or the agent stopping). */
export async function removeCanaryStatus(db: Queryable, target: string, userId: string, agent: string) {
  await db.query('DELETE FROM syncscope.canary_status WHERE target = $1 AND user_id = $2 AND agent = $3', [
    target,
    userId,
    agent
  ]);
}
