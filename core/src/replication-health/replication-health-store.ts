import type pg from 'pg';
import type { ReplicationHealth } from './replication-health-types.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/**
 * Stores a target's latest reading (syncscope.replication_health). Several agents may watch one target:
 * the newest observation wins, so a slow agent never overwrites a fresher reading with an older one.
 */
export async function storeReplicationHealth(
  db: Queryable,
  health: ReplicationHealth,
  agent: string
): Promise<void> {
  await db.query(
    `INSERT INTO syncscope.replication_health (target, observed_at, agent, health) VALUES ($1, $2, $3, $4)
     ON CONFLICT (target) DO UPDATE SET observed_at = EXCLUDED.observed_at, agent = EXCLUDED.agent,
       health = EXCLUDED.health
     WHERE syncscope.replication_health.observed_at < EXCLUDED.observed_at`,
    [health.target, health.observedAt, agent, JSON.stringify(health)]
  );
}

/** The latest reading of each of these targets (null: all), with the agent that took it. */
export async function latestReplicationHealth(
  db: Queryable,
  targets: readonly string[] | null
): Promise<(ReplicationHealth & { agent: string })[]> {
  const { rows } = await db.query<{ health: ReplicationHealth; agent: string }>(
    `SELECT health, agent FROM syncscope.replication_health
     WHERE $1::text[] IS NULL OR target = ANY($1) ORDER BY target`,
    [targets]
  );
  return rows.map((r) => ({ ...r.health, agent: r.agent }));
}
