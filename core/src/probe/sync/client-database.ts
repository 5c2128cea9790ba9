/**
 * The probe client's database read through a second, read-only connection (the client keeps it in WAL
 * mode: reading never blocks its writer). The rows themselves are compared inside SQLite by the diff
 * (diff-states.ts), which opens the file itself.
 */
import Database from 'better-sqlite3';

export interface ActualBucket {
  bucket: string;
  lastOp: string;
  /** (add_checksum + op_checksum) as the client holds it: the bucket checksum it validated. */
  checksum: number;
}

export class ClientDatabase {
  private readonly db: Database.Database;

  constructor(readonly file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
  }

  buckets(): ActualBucket[] {
    return this.db
      .prepare<[], { name: string; last_op: string; checksum: number }>(
        "SELECT name, CAST(last_op AS TEXT) AS last_op, (add_checksum + op_checksum) & 0xffffffff AS checksum FROM ps_buckets WHERE name != '$local' ORDER BY name"
      )
      .all()
      .map((b) => ({ bucket: b.name, lastOp: b.last_op, checksum: b.checksum >>> 0 }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
