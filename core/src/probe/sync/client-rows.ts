/**
 * The probe client's state read straight from its SQLite file through a second, read-only connection
 * (the database is in WAL mode: reading never blocks the client's writer). Rows come in
 * (row_type, row_id) order through the client's own `ps_oplog_row` index, a page at a time, so the diff
 * never holds the user's rows; one pass is one read transaction, so its pages see one committed state.
 */
import Database from 'better-sqlite3';
import type { SyncedRow } from '../probe-types.ts';

export interface ActualBucket {
  bucket: string;
  lastOp: string;
  /** (add_checksum + op_checksum) as the client holds it: the bucket checksum it validated. */
  checksum: number;
}

/** A live row on the client: its PUT's data and checksum, and every bucket holding it. */
export type ActualRow = SyncedRow;

/** row_type, row_id, data, hash, bucket name: the columns as `raw()` statements return them. */
type OplogRow = [string, string, string, number, string];

const SELECT =
  'SELECT o.row_type, o.row_id, o.data, o.hash, b.name AS bucket FROM ps_oplog o JOIN ps_buckets b ON b.id = o.bucket';

export class ClientRows {
  private readonly db: Database.Database;
  private readonly first: Database.Statement<[number], OplogRow>;
  private readonly after: Database.Statement<[string, string, number], OplogRow>;
  private readonly group: Database.Statement<[string, string], OplogRow>;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    this.first = this.db
      .prepare<[number], OplogRow>(
        `${SELECT} WHERE o.row_type IS NOT NULL ORDER BY o.row_type, o.row_id LIMIT ?`
      )
      .raw();
    this.after = this.db
      .prepare<[string, string, number], OplogRow>(
        `${SELECT} WHERE (o.row_type, o.row_id) > (?, ?) ORDER BY o.row_type, o.row_id LIMIT ?`
      )
      .raw();
    this.group = this.db
      .prepare<[string, string], OplogRow>(`${SELECT} WHERE o.row_type = ? AND o.row_id = ?`)
      .raw();
  }

  buckets(): ActualBucket[] {
    return this.db
      .prepare<[], { name: string; last_op: string; checksum: number }>(
        "SELECT name, CAST(last_op AS TEXT) AS last_op, (add_checksum + op_checksum) & 0xffffffff AS checksum FROM ps_buckets WHERE name != '$local' ORDER BY name"
      )
      .all()
      .map((b) => ({ bucket: b.name, lastOp: b.last_op, checksum: b.checksum >>> 0 }));
  }

  /**
   * Live rows in key order, about `pageSize` at a time; a row in several buckets comes once, with all of
   * them (the first op's data, as the client's view shows one row). A page never splits a row's ops.
   */
  async *pages(pageSize: number): AsyncIterableIterator<ActualRow[]> {
    // One read transaction for the whole pass: every page sees the same committed state of the client
    // (WAL mode: the client's writer carries on meanwhile).
    this.db.exec('BEGIN');
    try {
      let ops = this.first.all(pageSize);
      while (ops.length > 0) {
        const full = ops.length === pageSize;
        const last = ops[ops.length - 1]!;
        if (full) {
          // The page may have cut the last row's ops: take that row whole.
          while (ops.length > 0) {
            const o = ops[ops.length - 1]!;
            if (o[0] !== last[0] || o[1] !== last[1]) break;
            ops.pop();
          }
          ops.push(...this.group.all(last[0], last[1]));
        }
        yield groupOps(ops);
        if (!full) return;
        ops = this.after.all(last[0], last[1], pageSize);
      }
    } finally {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function groupOps(ops: OplogRow[]): ActualRow[] {
  const rows: ActualRow[] = [];
  let current: ActualRow | null = null;
  for (const [table, id, json, hash, bucket] of ops) {
    if (current && current.table === table && current.id === id) {
      if (!current.buckets.includes(bucket)) current.buckets.push(bucket);
      continue;
    }
    current = { table, id, json, checksum: hash >>> 0, buckets: [bucket] };
    rows.push(current);
  }
  for (const r of rows) if (r.buckets.length > 1) r.buckets.sort();
  return rows;
}
