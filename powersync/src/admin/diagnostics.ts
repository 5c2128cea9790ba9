import type { ReplicationProgress } from '../replication/replicator.ts';
import type { ReplicatedTable } from '../replication/source-schema.ts';

/** A replication slot as Postgres reports it; null before the slot exists. */
export interface SlotStatus {
  lagBytes: number;
  walStatus: string;
}

export interface VersionDiagnosticsInput {
  tag: string;
  slotName: string;
  progress: ReplicationProgress;
  /** The version's replicated LSN (Postgres form, `0/50CFE390`). */
  lsn: string;
  slot: SlotStatus | null;
  tables: ReplicatedTable[];
}

/** The service prints LSNs with both halves zero-padded: `00000000/50CFE390`. */
export function serviceLsn(lsn: string): string {
  const [high = '0', low = '0'] = lsn.split('/');
  return `${high.toUpperCase().padStart(8, '0')}/${low.toUpperCase().padStart(8, '0')}`;
}

/**
 * One entry of `connections` in `active_sync_rules` / `deploying_sync_rules`, with the fields the service
 * shows at each stage of a version (redeploy-diagnostics-1..7.json): the lag and WAL status once its slot
 * exists, the keepalive time once its snapshot runs, the checkpoint time once the snapshot is stored, and
 * `last_lsn` once initial replication is done. The key order is the service's.
 */
export function versionConnection(input: VersionDiagnosticsInput) {
  const { progress, slot } = input;
  return {
    id: 'default',
    tag: input.tag,
    slot_name: input.slotName,
    initial_replication_done: progress.initialReplicationDone,
    ...(progress.initialReplicationDone ? { last_lsn: serviceLsn(input.lsn) } : {}),
    ...(progress.lastKeepaliveAt ? { last_keepalive_ts: progress.lastKeepaliveAt.toISOString() } : {}),
    ...(progress.lastCheckpointAt ? { last_checkpoint_ts: progress.lastCheckpointAt.toISOString() } : {}),
    ...(slot ? { replication_lag_bytes: slot.lagBytes, wal_status: slot.walStatus } : {}),
    tables: input.tables.map((t) => ({
      schema: t.table.schema,
      name: t.table.name,
      replication_id: t.table.replicaIdColumns,
      data_queries: t.table.syncsData,
      parameter_queries: t.table.syncsParameters,
      errors: t.published ? [] : [{ level: 'warning', message: 'Table is not part of publication "powersync"' }]
    }))
  };
}
