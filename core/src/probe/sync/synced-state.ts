import type { ActualState } from './sync-as-user.ts';

/** What a PowerSync client database holds from the service: its buckets and the ops in its op log. */
export const SYNCED_BUCKETS_SQL =
  "SELECT name, CAST(last_op AS TEXT) AS last_op, (add_checksum + op_checksum) & 0xffffffff AS checksum FROM ps_buckets WHERE name != '$local' ORDER BY name";
export const SYNCED_OPS_SQL =
  'SELECT b.name AS bucket, o.row_type, o.row_id, o.data, o.hash FROM ps_oplog o JOIN ps_buckets b ON b.id = o.bucket';

export interface SyncedBucketRow {
  name: string;
  last_op: number | string;
  checksum: number;
}
export interface SyncedOpRow {
  bucket: string;
  row_type: string;
  row_id: string;
  data: string;
  hash: number;
}

/** The rows of SYNCED_BUCKETS_SQL and SYNCED_OPS_SQL as the probe engine's ActualState. */
export function toActualState(buckets: SyncedBucketRow[], ops: SyncedOpRow[]): ActualState {
  return {
    buckets: buckets.map((b) => ({ bucket: b.name, lastOp: String(b.last_op), checksum: b.checksum >>> 0 })),
    ops: ops.map((o) => ({
      bucket: o.bucket,
      table: o.row_type,
      id: o.row_id,
      data: o.data,
      checksum: o.hash >>> 0
    }))
  };
}
