import type Database from 'better-sqlite3';
import {
  type ClientStreamSubscription,
  readClientStreamSubscriptions
} from './client-stream-subscriptions.ts';
import { tableExists } from './open-client-database.ts';

export interface QueuedOperation {
  /** ps_crud id: the upload order. */
  id: number;
  txId: number | null;
  op: string;
  table: string;
  rowId: string;
  bytes: number;
  data: unknown;
}

export interface QueueTransaction {
  txId: number | null;
  operations: QueuedOperation[];
  bytes: number;
}

export interface BucketState {
  name: string;
  lastOp: string;
  lastAppliedOp: string;
  ops: number;
  downloadedBytes: number;
}

export interface ClientDatabaseInspection {
  clientId: string | null;
  /** The moment subscription statuses refer to (expiry): when the inspection ran. */
  inspectedAt: string;
  /** Pending uploads, oldest first, grouped by transaction. The first operation blocks the rest. */
  queue: {
    transactions: QueueTransaction[];
    operations: number;
    bytes: number;
    head: QueuedOperation | null;
  };
  buckets: BucketState[];
  /** The client's sync-stream subscriptions, and which it would request when it next connects. */
  streamSubscriptions: ClientStreamSubscription[];
  opLog: { operations: number; maxOpId: string | null };
  /** PowerSync's key-value state (write checkpoint requests and the like). */
  state: Record<string, string | null>;
}

const MAX_QUEUE_SHOWN = 1000;

function parseCrud(row: { id: number; tx_id: number | null; data: string }): QueuedOperation {
  let parsed: { op?: string; type?: string; id?: string; data?: unknown } = {};
  try {
    parsed = JSON.parse(row.data);
  } catch {
    // shown with what is known
  }
  return {
    id: row.id,
    txId: row.tx_id,
    op: parsed.op ?? '?',
    table: parsed.type ?? '?',
    rowId: parsed.id ?? '?',
    bytes: Buffer.byteLength(row.data),
    data: parsed.data ?? null
  };
}

/**
 * Reads an opened client database: upload queue, buckets, stream subscriptions (their status at `now`),
 * op-log position and state.
 */
export function inspectClientDatabase(db: Database.Database, now = new Date()): ClientDatabaseInspection {
  const crud = db.prepare('SELECT id, tx_id, data FROM ps_crud ORDER BY id LIMIT ?').all(MAX_QUEUE_SHOWN) as {
    id: number;
    tx_id: number | null;
    data: string;
  }[];
  const totals = db
    .prepare('SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes FROM ps_crud')
    .get() as {
    n: number;
    bytes: number;
  };
  const transactions: QueueTransaction[] = [];
  for (const op of crud.map(parseCrud)) {
    const last = transactions.at(-1);
    if (last && last.txId === op.txId && op.txId !== null) {
      last.operations.push(op);
      last.bytes += op.bytes;
    } else transactions.push({ txId: op.txId, operations: [op], bytes: op.bytes });
  }
  const kvRows = tableExists(db, 'ps_kv')
    ? // ps_kv values are BLOBs: read them as text.
      (db.prepare('SELECT key, CAST(value AS TEXT) AS value FROM ps_kv').all() as {
        key: string;
        value: string | null;
      }[])
    : [];
  const state = Object.fromEntries(kvRows.map((r) => [r.key, r.value]));
  const buckets = db
    .prepare(
      `SELECT b.name, CAST(b.last_op AS TEXT) AS lastOp, CAST(b.last_applied_op AS TEXT) AS lastAppliedOp,
         (SELECT count(*) FROM ps_oplog o WHERE o.bucket = b.id) AS ops, b.downloaded_size AS downloadedBytes
       FROM ps_buckets b ORDER BY b.name`
    )
    .all() as BucketState[];
  const opLog = db
    .prepare('SELECT count(*) AS operations, CAST(max(op_id) AS TEXT) AS maxOpId FROM ps_oplog')
    .get() as {
    operations: number;
    maxOpId: string | null;
  };
  return {
    clientId: state.client_id ?? null,
    inspectedAt: now.toISOString(),
    queue: {
      transactions,
      operations: totals.n,
      bytes: totals.bytes,
      head: transactions[0]?.operations[0] ?? null
    },
    buckets,
    streamSubscriptions: readClientStreamSubscriptions(db, now),
    opLog,
    state
  };
}
