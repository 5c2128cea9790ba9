import { existsSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { SyncScopeError } from '../errors/index.ts';

const SQLITE_HEADER = 'SQLite format 3\u0000';
const POWERSYNC_TABLES = ['ps_crud', 'ps_oplog', 'ps_buckets'];

/** Whether the file starts with SQLite's magic header (read without opening it as a database). */
export async function hasSqliteHeader(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(16);
    const { bytesRead } = await handle.read(buffer, 0, 16, 0);
    return bytesRead === 16 && buffer.toString('latin1') === SQLITE_HEADER;
  } finally {
    await handle.close();
  }
}

/**
 * Makes SyncScope's own copy of an exported database open read-only without its `-wal`/`-shm` files:
 * PowerSync runs SQLite in WAL mode, and a WAL-mode file cannot be opened read-only on its own. Only
 * the header's two journal-mode bytes change (WAL → rollback journal); no data page is touched. Call it
 * on a copy, never on the user's file.
 */
export async function detachFromWal(copy: string): Promise<void> {
  const handle = await open(copy, 'r+');
  try {
    const versions = Buffer.alloc(2);
    await handle.read(versions, 0, 2, 18);
    if (versions[0] === 2 || versions[1] === 2) await handle.write(Buffer.from([1, 1]), 0, 2, 18);
  } finally {
    await handle.close();
  }
}

export function tableExists(db: Database.Database, name: string): boolean {
  return Boolean(db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name));
}

/**
 * Opens an exported PowerSync client database read-only (nothing in it can change, not even its journal),
 * after checking that it is SQLite and has PowerSync's tables. Throws a SyncScopeError that says which.
 */
export async function openClientDatabase(file: string): Promise<Database.Database> {
  if (!(await hasSqliteHeader(file)))
    throw new SyncScopeError(
      'SYNCSCOPE_E_INSPECT_NOT_SQLITE',
      'The file is not a SQLite database: export the app’s PowerSync database file itself.'
    );
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('query_only = ON');
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_INSPECT_NOT_SQLITE',
      `The file could not be opened as SQLite: ${(error as Error).message}`
    );
  }
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ps_%'")
      .pluck()
      .all() as string[];
    const missing = POWERSYNC_TABLES.filter((t) => !tables.includes(t));
    if (missing.length === POWERSYNC_TABLES.length)
      throw new SyncScopeError(
        'SYNCSCOPE_E_INSPECT_NOT_POWERSYNC',
        'The SQLite file has no PowerSync tables (ps_crud, ps_oplog, ps_buckets): it is not a PowerSync client database.'
      );
    if (missing.length > 0)
      throw new SyncScopeError(
        'SYNCSCOPE_E_INSPECT_NOT_POWERSYNC',
        `The database lacks ${missing.join(', ')}: it is not a complete PowerSync client database.`
      );
    return db;
  } catch (error) {
    db.close();
    if (error instanceof SyncScopeError) throw error;
    throw new SyncScopeError(
      'SYNCSCOPE_E_INSPECT_NOT_SQLITE',
      `The file is not a readable SQLite database: ${(error as Error).message}`
    );
  }
}

/**
 * Copies a client database for inspection, with the writes still in its `-wal` file folded in, and
 * detaches the copy from WAL. The original file (and its -wal) are only read.
 */
export async function copyForInspection(file: string, copy: string): Promise<void> {
  await copyFile(file, copy);
  if (!(await hasSqliteHeader(copy))) return;
  if (existsSync(`${file}-wal`)) {
    await copyFile(`${file}-wal`, `${copy}-wal`);
    const db = new Database(copy);
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  }
  await detachFromWal(copy);
}
