import type {
  ReplicationConnection,
  RulesDiagnostics,
  ServiceDiagnostics
} from '../service-admin/admin-schemas.ts';
import type { ServiceReplication, ServiceView } from './replication-health-types.ts';

/** One rules version's replication (its first connection: the service replicates one source). */
function replicationOf(rules: RulesDiagnostics | undefined): ServiceReplication | null {
  const c: ReplicationConnection | undefined = rules?.connections[0];
  if (!c) return null;
  return {
    slot: c.slot_name ?? null,
    initialReplicationDone: c.initial_replication_done,
    replicationLagBytes: c.replication_lag_bytes ?? null,
    lastCheckpointAt: c.last_checkpoint_ts ?? null,
    walStatus: c.wal_status ?? null
  };
}

/** The service's view of its replication, from POST /api/admin/v1/diagnostics. */
export function serviceViewOf(diagnostics: ServiceDiagnostics): ServiceView {
  return {
    active: replicationOf(diagnostics.active_sync_rules),
    deploying: replicationOf(diagnostics.deploying_sync_rules)
  };
}
