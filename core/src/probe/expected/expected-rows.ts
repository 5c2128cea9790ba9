/**
 * Where the expected state keeps its rows: in memory (small states, tests, explain) or spilled to a
 * temporary SQLite file (the probe), so a user's size does not set the probe's memory, and the diff can
 * join it with the client's database inside SQLite (diff-states.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { compareRowKeys } from '../diff/row-key-order.ts';
import type { SyncedRow } from '../probe-types.ts';

/** The same table/id met again (another bucket, or another query putting it in the same bucket). */
export interface RowConflict {
  /** The row kept (the first added), with the buckets of every copy. */
  stored: SyncedRow;
  /** A later copy had different JSON (the stored row keeps the first). */
  jsonDiffers: boolean;
  /** The tags the later copies were added with (e.g. which table scan produced them). */
  laterTags: number[];
}

export interface ExpectedRowStore {
  /** Distinct rows (table, id); exact once `finish` ran. */
  readonly size: number;
  /** Adds a row; `tag` is returned in the conflicts when a later copy of the same key is merged. */
  add(row: SyncedRow, tag?: number): void;
  /** Finishes a batch of adds (the spilled store commits it). */
  flush(): void;
  /** Ends adding: merges copies of the same key (buckets joined, the first JSON kept). */
  finish(): RowConflict[];
  get(key: string): SyncedRow | undefined;
  /** Every row in key order. */
  values(): IterableIterator<SyncedRow>;
  close(): void;
}

export const rowKey = (table: string, id: string) => `${table}/${id}`;

function mergeInto(conflicts: Map<string, RowConflict>, stored: SyncedRow, row: SyncedRow, tag: number) {
  for (const b of row.buckets) if (!stored.buckets.includes(b)) stored.buckets.push(b);
  const key = rowKey(stored.table, stored.id);
  const conflict = conflicts.get(key) ?? { stored, jsonDiffers: false, laterTags: [] };
  conflict.jsonDiffers ||= stored.json !== row.json;
  conflict.laterTags.push(tag);
  conflicts.set(key, conflict);
}

/** Rows in a Map; sorted once when read in order. */
export class MemoryExpectedRows implements ExpectedRowStore {
  private readonly rows = new Map<string, SyncedRow>();
  private readonly conflicts = new Map<string, RowConflict>();
  private sorted: SyncedRow[] | null = null;
  private closed = false;

  get size(): number {
    return this.rows.size;
  }

  add(row: SyncedRow, tag = 0): void {
    // As a spilled store's: a computation whose rows are no longer wanted stops at its next row.
    if (this.closed) throw new Error('the expected rows were closed: the probe no longer needs them');
    const key = rowKey(row.table, row.id);
    const stored = this.rows.get(key);
    if (stored) {
      mergeInto(this.conflicts, stored, row, tag);
      return;
    }
    this.rows.set(key, { ...row, buckets: [...row.buckets] });
    this.sorted = null;
  }

  flush(): void {}

  finish(): RowConflict[] {
    return [...this.conflicts.values()];
  }

  get(key: string): SyncedRow | undefined {
    return this.rows.get(key);
  }

  private inOrder(): SyncedRow[] {
    this.sorted ??= [...this.rows.values()].sort((a, b) => compareRowKeys(a.table, a.id, b.table, b.id));
    return this.sorted;
  }

  values(): IterableIterator<SyncedRow> {
    return this.inOrder()[Symbol.iterator]();
  }

  close(): void {
    this.closed = true;
    this.rows.clear();
    this.sorted = null;
  }
}

const SPILL_DIR_PREFIX = 'syncscope-expected-';
let spillDir: string | null = null;

/** Whether process `pid` is running (signal 0 only checks). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the spill folders of processes that died without removing theirs; returns their names. */
export function sweepStaleSpillDirectories(): string[] {
  const swept: string[] = [];
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(SPILL_DIR_PREFIX)) continue;
    const pid = Number(name.slice(SPILL_DIR_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || running(pid)) continue;
    rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}

/**
 * This process's folder for spilled stores: created with mode 0700 (the rows are a user's data),
 * removed when the process exits. Creating it first sweeps the folders dead processes left.
 */
export function spillDirectory(): string {
  if (spillDir) return spillDir;
  sweepStaleSpillDirectories();
  const dir = mkdtempSync(path.join(os.tmpdir(), `${SPILL_DIR_PREFIX}${process.pid}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  spillDir = dir;
  return dir;
}

/**
 * Makes this thread spill into the process's folder (a worker thread's `process` exit handlers never
 * run, so a folder of its own would outlive it): expected-state threads call it with the folder their
 * parent passed them.
 */
export function shareSpillDirectory(dir: string): void {
  spillDir = dir;
}

/** A new path for a spilled store, in this process's private folder. */
export function spillFilePath(): string {
  return path.join(spillDirectory(), `${randomUUID()}.db`);
}

/** tbl, id, buckets (JSON array), json, checksum: the columns as `raw()` statements return them. */
type StoredRow = [string, string, string, string, number];

/** `["one bucket"]` without escapes is by far the common case: sliced instead of parsed. */
export function bucketsOf(text: string): string[] {
  if (text.indexOf('","') < 0 && text.indexOf('\\') < 0 && text.startsWith('["') && text.endsWith('"]'))
    return [text.slice(2, -2)];
  return JSON.parse(text) as string[];
}

const fromStored = (r: StoredRow): SyncedRow => ({
  table: r[0],
  id: r[1],
  json: r[3],
  checksum: r[4],
  buckets: bucketsOf(r[2])
});

const COLUMNS = 'tbl, id, buckets, json, checksum';
/** Rows per multi-row INSERT: one statement call binds this many rows (6 values each). */
const INSERT_ROWS = 128;

/**
 * Rows in a SQLite file in this process's private spill folder (deleted when closed; SQLite keeps only
 * its page cache in memory). Adds append to an unindexed table, many rows per statement; `finish` builds
 * the (table, id) index in one sort and merges copies of a key, which is much cheaper than keeping a key
 * order per insert.
 */
export class SpilledExpectedRows implements ExpectedRowStore {
  private readonly db: Database.Database;
  private readonly insertOne: Database.Statement;
  private readonly insertMany: Database.Statement;
  private pending: unknown[] = [];
  private added = 0;
  private distinct = 0;
  private inBatch = false;
  private finished = false;

  /**
   * A new file of its own in the temporary folder (deleted on close), or, adopting, one a store on
   * another thread filled and detached.
   */
  private constructor(
    readonly file: string,
    mode: 'create' | 'adopt'
  ) {
    this.db = new Database(file, { fileMustExist: mode === 'adopt' });
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -8192'); // 8 MiB
    if (mode === 'create') {
      this.db.exec(
        'CREATE TABLE expected(tbl TEXT NOT NULL, id TEXT NOT NULL, buckets TEXT NOT NULL, json TEXT NOT NULL, checksum INTEGER NOT NULL, tag INTEGER NOT NULL)'
      );
    }
    const values = (n: number) => Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?)').join(', ');
    this.insertOne = this.db.prepare(`INSERT INTO expected VALUES ${values(1)}`);
    this.insertMany = this.db.prepare(`INSERT INTO expected VALUES ${values(INSERT_ROWS)}`);
  }

  /** A new store in `file` (which must not exist), by default a new file in the temporary folder. */
  static create(file = spillFilePath()): SpilledExpectedRows {
    return new SpilledExpectedRows(file, 'create');
  }

  get size(): number {
    return this.finished ? this.distinct : this.added;
  }

  add(row: SyncedRow, tag = 0): void {
    if (this.finished) throw new Error('SpilledExpectedRows: add after finish');
    this.pending.push(row.table, row.id, this.bucketsJson(row.buckets), row.json, row.checksum, tag);
    this.added++;
    if (this.pending.length === INSERT_ROWS * 6) {
      this.begin();
      this.insertMany.run(this.pending);
      this.pending = [];
    }
  }

  private lastBucket: { name: string; json: string } = { name: '', json: '[""]' };

  /** Rows come a bucket at a time: the JSON of a one-bucket list is reused while the bucket repeats. */
  private bucketsJson(buckets: string[]): string {
    if (buckets.length !== 1) return JSON.stringify(buckets);
    if (this.lastBucket.name !== buckets[0])
      this.lastBucket = { name: buckets[0]!, json: JSON.stringify(buckets) };
    return this.lastBucket.json;
  }

  private begin() {
    if (!this.inBatch) {
      this.db.exec('BEGIN');
      this.inBatch = true;
    }
  }

  flush(): void {
    if (this.pending.length > 0) {
      this.begin();
      for (let i = 0; i < this.pending.length; i += 6) this.insertOne.run(this.pending.slice(i, i + 6));
      this.pending = [];
    }
    if (this.inBatch) {
      this.db.exec('COMMIT');
      this.inBatch = false;
    }
  }

  finish(): RowConflict[] {
    if (this.finished) return [];
    this.flush();
    this.db.exec('CREATE INDEX expected_key ON expected(tbl, id)');
    const conflicts: RowConflict[] = [];
    const copiesOf = this.db.prepare<[string, string], [number, ...StoredRow, number]>(
      `SELECT rowid, ${COLUMNS}, tag FROM expected WHERE tbl = ? AND id = ? ORDER BY rowid`
    );
    const duplicated = this.db
      .prepare<[], [string, string]>('SELECT tbl, id FROM expected GROUP BY tbl, id HAVING count(*) > 1')
      .raw()
      .all();
    copiesOf.raw();
    const remove = this.db.prepare('DELETE FROM expected WHERE rowid = ?');
    const setBuckets = this.db.prepare('UPDATE expected SET buckets = ? WHERE rowid = ?');
    this.db.transaction(() => {
      for (const [tbl, id] of duplicated) {
        const [first, ...later] = copiesOf.all(tbl, id);
        const stored = fromStored(first!.slice(1, 6) as StoredRow);
        const merged = new Map<string, RowConflict>();
        for (const copy of later) {
          mergeInto(merged, stored, fromStored(copy.slice(1, 6) as StoredRow), copy[6]);
          remove.run(copy[0]);
        }
        setBuckets.run(JSON.stringify(stored.buckets), first![0]);
        conflicts.push(...merged.values());
      }
    })();
    this.distinct = this.added - conflicts.reduce((n, c) => n + c.laterTags.length, 0);
    this.finished = true;
    return conflicts;
  }

  private ensureFinished() {
    if (!this.finished) this.finish();
  }

  get(key: string): SyncedRow | undefined {
    this.ensureFinished();
    // Table names hold no '/', ids may: split at the first one.
    const slash = key.indexOf('/');
    const found = this.db
      .prepare<[string, string], StoredRow>(`SELECT ${COLUMNS} FROM expected WHERE tbl = ? AND id = ?`)
      .raw()
      .get(key.slice(0, slash), key.slice(slash + 1));
    return found ? fromStored(found) : undefined;
  }

  *values(): IterableIterator<SyncedRow> {
    this.ensureFinished();
    const all = this.db.prepare<[], StoredRow>(`SELECT ${COLUMNS} FROM expected ORDER BY tbl, id`).raw();
    for (const r of all.iterate()) yield fromStored(r);
  }

  /** The buckets at least one expected row is in. */
  bucketsWithRows(): Set<string> {
    this.ensureFinished();
    const buckets = this.db
      .prepare<[], string>('SELECT DISTINCT b.value FROM expected, json_each(expected.buckets) AS b')
      .pluck()
      .all();
    return new Set(buckets);
  }

  /**
   * Closes a finished store and leaves its file for `adopt` (on another thread); returns the number of
   * distinct rows.
   */
  detach(): number {
    this.ensureFinished();
    this.db.close();
    return this.distinct;
  }

  /**
   * Closes a store without finishing it (no index, copies not merged) and leaves its file for another
   * store to `absorb`; returns the number of rows added. A partition's scan ends this way.
   */
  release(): number {
    this.flush();
    this.db.close();
    return this.added;
  }

  /**
   * Appends the rows of a released store's file (a partition of a table another thread scanned) and
   * deletes the file. Copies of a key across partitions merge in `finish`, like any other copies.
   */
  absorb(file: string): void {
    if (this.finished) throw new Error('SpilledExpectedRows: absorb after finish');
    this.flush();
    try {
      this.db.prepare('ATTACH DATABASE ? AS partition_rows').run(file);
      try {
        this.added += this.db
          .prepare('INSERT INTO expected SELECT * FROM partition_rows.expected')
          .run().changes;
      } finally {
        this.db.exec('DETACH DATABASE partition_rows');
      }
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Opens a store another thread filled and detached; closing it deletes the file. */
  static adopt(file: string, distinct: number): SpilledExpectedRows {
    const store = new SpilledExpectedRows(file, 'adopt');
    store.distinct = distinct;
    store.finished = true;
    return store;
  }

  close(): void {
    if (this.db.open) this.db.close();
    rmSync(this.file, { force: true });
  }
}
