/**
 * Expected against actual inside SQLite: the spilled expected rows are attached to a read-only connection
 * to the client's database and joined with its op log through both sides' (table, id) indexes. Only
 * the rows that differ come back to JavaScript, so neither side is ever held whole, and the user's rows
 * are never copied out to be compared (at 100k rows: ~0.14 s against ~0.35 s for a merge of pages read
 * into JavaScript).
 *
 *   expected (tbl, id, json, checksum) ─┬─ no op for the key ───────────────▶ missing
 *                                       └─ an op whose data or hash differs ─▶ different
 *   client ps_oplog (row_type, row_id) ─── no expected row for the key ──────▶ extra
 *
 * Every difference is counted; only the first `maxDifferences` in key order are kept in full (with field
 * diffs). One read transaction: the client may keep writing, the diff sees one committed state of it.
 */
import type { SqliteJsonValue } from '@powersync/service-sync-rules';
import Database from 'better-sqlite3';
import { bucketsOf, type SpilledExpectedRows } from '../expected/expected-rows.ts';
import type { BucketDifference, DiffKind, FieldDifference, RowDifference } from '../probe-types.ts';
import type { ActualBucket } from '../sync/client-database.ts';
import type { CheckpointLine } from '../sync/sync-as-user.ts';
import { compareRowKeys } from './row-key-order.ts';

export const DIFF_DEFAULTS = {
  /** Row differences kept in full in a report; the rest are only counted. */
  maxDifferences: 1_000
} as const;

export interface DiffInput {
  expectedBuckets: readonly string[];
  /** The expected rows, finished (indexed by table and id). */
  expectedRows: SpilledExpectedRows;
  actualBuckets: readonly ActualBucket[];
  /** The client's database file: read, never written. */
  clientFile: string;
  /** The checkpoint the service sent, to compare the client's bucket checksums against. */
  checkpoint: CheckpointLine | null;
  /**
   * Buckets known to have no operations besides the checkpoint's empty ones, held like those (the
   * inspector, which has no checkpoint: expected buckets the source puts no rows in).
   */
  emptyBuckets?: readonly string[];
  maxDifferences?: number;
}

export interface StateDiff {
  /** The buckets the client holds (see heldBuckets). */
  heldBuckets: string[];
  bucketDifferences: BucketDifference[];
  /** The first `maxDifferences` row differences in key order, in full. */
  rowDifferences: RowDifference[];
  /** Every row difference by kind, listed or not. */
  differenceCounts: Record<DiffKind, number>;
  perTable: Record<string, { expected: number; actual: number }>;
  expectedRows: number;
  actualRows: number;
  rowChecksumMismatches: number;
  bucketChecksumMismatches: { bucket: string; checkpoint: number; client: number }[];
}

export function fieldDifferences(expectedJson: string, actualJson: string): FieldDifference[] {
  const expected = JSON.parse(expectedJson) as Record<string, SqliteJsonValue>;
  const actual = JSON.parse(actualJson) as Record<string, SqliteJsonValue>;
  const fields = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...fields]
    .filter((f) => JSON.stringify(expected[f]) !== JSON.stringify(actual[f]))
    .map((field) => ({ field, expected: expected[field], actual: actual[field] }));
}

/**
 * The buckets the client holds: those it stored, and the expected ones it cannot store because they are
 * empty (the checkpoint lists them without operations, or `emptyBuckets`). The client stores a bucket
 * only once an operation of it arrives, so an empty one (a workspace without records, a subscription
 * whose parameters select nothing) never shows in its database. Only expected ones count: the checkpoint
 * is the preflight's, and an empty bucket revoked since would otherwise stay "extra" through the settle
 * window.
 */
export function heldBuckets(
  actual: readonly ActualBucket[],
  checkpoint: CheckpointLine | null,
  expected: readonly string[],
  emptyBuckets: readonly string[] = []
): string[] {
  const expectedSet = new Set(expected);
  const empty = [
    ...(checkpoint?.buckets ?? []).filter((b) => b.count === 0).map((b) => b.bucket),
    ...emptyBuckets
  ].filter((b) => expectedSet.has(b));
  return [...new Set([...actual.map((b) => b.bucket), ...empty])];
}

export function bucketDifferencesOf(
  expected: readonly string[],
  held: readonly string[]
): BucketDifference[] {
  const expectedSet = new Set(expected);
  const heldSet = new Set(held);
  return [
    ...[...expectedSet]
      .filter((b) => !heldSet.has(b))
      .map((bucket) => ({ kind: 'missing' as const, bucket, explanation: '' })),
    ...[...heldSet]
      .filter((b) => !expectedSet.has(b))
      .map((bucket) => ({ kind: 'extra' as const, bucket, explanation: '' }))
  ];
}

/** The client's bucket checksums against the checkpoint's, only where the client is at that checkpoint. */
function bucketChecksumMismatchesOf(
  checkpoint: CheckpointLine | null,
  actual: readonly ActualBucket[]
): StateDiff['bucketChecksumMismatches'] {
  const clientBuckets = new Map(actual.map((b) => [b.bucket, b]));
  return (checkpoint?.buckets ?? []).flatMap((b) => {
    const client = clientBuckets.get(b.bucket);
    return client && client.lastOp === checkpoint!.last_op_id && client.checksum !== b.checksum >>> 0
      ? [{ bucket: b.bucket, checkpoint: b.checksum >>> 0, client: client.checksum }]
      : [];
  });
}

/** tbl, id, buckets (JSON), json, checksum, then the first disagreeing op's data and hash (null: none). */
type ExpectedSideRow = [string, string, string, string, number, string | null, number | null];
/** row_type, row_id, data, hash, bucket name: one row per op. */
type ExtraOpRow = [string, string, string, number, string];

// The client's hash column holds a signed or unsigned 32-bit value; `& 0xffffffff` makes it unsigned.
const EXPECTED_SIDE = `
  SELECT e.tbl, e.id, e.buckets, e.json, e.checksum, o.data, o.hash & 0xffffffff
  FROM expected.expected e
  LEFT JOIN ps_oplog o ON o.row_type = e.tbl AND o.row_id = e.id
  WHERE o.row_id IS NULL OR o.data IS NOT e.json OR (o.hash & 0xffffffff) != e.checksum
  ORDER BY e.tbl, e.id`;
const EXTRA_OPS = `
  SELECT o.row_type, o.row_id, o.data, o.hash & 0xffffffff, b.name
  FROM ps_oplog o JOIN ps_buckets b ON b.id = o.bucket
  WHERE o.row_type IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM expected.expected e WHERE e.tbl = o.row_type AND e.id = o.row_id)
  ORDER BY o.row_type, o.row_id`;
const EXPECTED_PER_TABLE = 'SELECT tbl, count(*) FROM expected.expected GROUP BY tbl';
const ACTUAL_PER_TABLE = `
  SELECT row_type, count(*) FROM (SELECT DISTINCT row_type, row_id FROM ps_oplog WHERE row_type IS NOT NULL)
  GROUP BY row_type`;

const base = (kind: DiffKind, table: string, id: string, buckets: string[]) => ({
  kind,
  table,
  id,
  buckets,
  settled: 'persisted' as const,
  explanation: ''
});

function expectedSide(db: Database.Database, max: number, counts: Record<DiffKind, number>) {
  const kept: RowDifference[] = [];
  let lastKey: [string, string] | null = null;
  for (const [tbl, id, buckets, json, checksum, data, hash] of db
    .prepare<[], ExpectedSideRow>(EXPECTED_SIDE)
    .raw()
    .iterate()) {
    // A row in several buckets has an op per bucket: the first disagreeing one stands for the row.
    if (lastKey && lastKey[0] === tbl && lastKey[1] === id) continue;
    lastKey = [tbl, id];
    if (data === null) {
      counts.missing++;
      if (kept.length < max)
        kept.push({ ...base('missing', tbl, id, bucketsOf(buckets)), expectedChecksum: checksum });
    } else {
      counts.different++;
      if (kept.length < max) {
        kept.push({
          ...base('different', tbl, id, bucketsOf(buckets)),
          fields: fieldDifferences(json, data),
          expectedChecksum: checksum,
          actualChecksum: hash ?? undefined
        });
      }
    }
  }
  return kept;
}

function extraSide(db: Database.Database, max: number, counts: Record<DiffKind, number>) {
  const kept: RowDifference[] = [];
  let lastKey: [string, string] | null = null;
  let current: RowDifference | null = null;
  for (const [table, id, , hash, bucket] of db.prepare<[], ExtraOpRow>(EXTRA_OPS).raw().iterate()) {
    // A row in several buckets has an op per bucket: one extra row, with every bucket.
    if (lastKey && lastKey[0] === table && lastKey[1] === id) {
      if (current && !current.buckets.includes(bucket)) current.buckets.push(bucket);
      continue;
    }
    lastKey = [table, id];
    counts.extra++;
    current = kept.length < max ? { ...base('extra', table, id, [bucket]), actualChecksum: hash } : null;
    if (current) kept.push(current);
  }
  for (const d of kept) d.buckets.sort();
  return kept;
}

/** Two key-ordered lists merged, cut at `max`. */
function mergeInKeyOrder(a: RowDifference[], b: RowDifference[], max: number): RowDifference[] {
  const out: RowDifference[] = [];
  let i = 0;
  let j = 0;
  while (out.length < max && (i < a.length || j < b.length)) {
    const takeA =
      j >= b.length || (i < a.length && compareRowKeys(a[i]!.table, a[i]!.id, b[j]!.table, b[j]!.id) <= 0);
    out.push(takeA ? a[i++]! : b[j++]!);
  }
  return out;
}

/**
 * Buckets (missing/extra), rows (missing/extra/different, field by field for the listed ones), each live
 * row's PUT checksum against the expected row's, and the client's bucket checksums against the
 * checkpoint it was sent (only comparable when the client is at that checkpoint).
 */
export function diffStates(input: DiffInput): StateDiff {
  const max = input.maxDifferences ?? DIFF_DEFAULTS.maxDifferences;
  const db = new Database(input.clientFile, { readonly: true, fileMustExist: true });
  try {
    db.prepare('ATTACH ? AS expected').run(input.expectedRows.file);
    const counts: Record<DiffKind, number> = { missing: 0, extra: 0, different: 0 };
    const perTable: StateDiff['perTable'] = {};
    const read = db.transaction(() => {
      for (const [table, n] of db.prepare<[], [string, number]>(EXPECTED_PER_TABLE).raw().all())
        perTable[table] = { expected: n, actual: 0 };
      for (const [table, n] of db.prepare<[], [string, number]>(ACTUAL_PER_TABLE).raw().all())
        perTable[table] = { expected: perTable[table]?.expected ?? 0, actual: n };
      return mergeInKeyOrder(expectedSide(db, max, counts), extraSide(db, max, counts), max);
    });
    const rowDifferences = read();
    const tables = Object.values(perTable);
    const held = heldBuckets(
      input.actualBuckets,
      input.checkpoint,
      input.expectedBuckets,
      input.emptyBuckets
    );
    return {
      heldBuckets: held,
      bucketDifferences: bucketDifferencesOf(input.expectedBuckets, held),
      rowDifferences,
      differenceCounts: counts,
      perTable,
      expectedRows: tables.reduce((n, t) => n + t.expected, 0),
      actualRows: tables.reduce((n, t) => n + t.actual, 0),
      rowChecksumMismatches: counts.different,
      bucketChecksumMismatches: bucketChecksumMismatchesOf(input.checkpoint, input.actualBuckets)
    };
  } finally {
    db.close();
  }
}
