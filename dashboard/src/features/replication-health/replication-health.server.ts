import 'server-only';
import { latestReplicationHealth } from '@syncscope/core/replication-health/replication-health-store';
import type { ReplicationHealth } from '@syncscope/core/replication-health/replication-health-types';
import { opsPool } from '@/server/ops-pool';

/**
 * The latest reading of each target in `scope` (null: all), as the agents stored it. The console reads
 * it from the ops database (SELECT on one table) rather than from the source or the admin API itself.
 */
export function replicationHealthOf(
  scope: string[] | null
): Promise<(ReplicationHealth & { agent: string })[]> {
  return latestReplicationHealth(opsPool(), scope);
}
