/**
 * Expected against actual as a merge over two key-ordered streams of row pages, so memory holds two
 * pages and the differences, never either side whole:
 *
 *   expected pages ─┐   (table, id) order       ┌─▶ missing   (only expected has the key)
 *                   ├─▶ merge, one key at a time ┼─▶ extra     (only the client has it)
 *   actual pages ───┘                           └─▶ different (JSON or PUT checksum differ)
 *
 * Every difference is counted; only the first `maxDifferences` are kept in full (with field diffs).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { SqliteJsonValue } from '@powersync/service-sync-rules';
import type {
  BucketDifference,
  DiffKind,
  FieldDifference,
  RowDifference,
  SyncedRow
} from '../probe-types.ts';
import type { ActualBucket, ActualRow } from '../sync/client-rows.ts';
import type { CheckpointLine } from '../sync/sync-as-user.ts';
import { compareRowKeys } from './row-key-order.ts';

export const DIFF_DEFAULTS = {
  /** Row differences kept in full in a report; the rest are only counted. */
  maxDifferences: 1_000,
  /** Rows read per page from each side. */
  pageSize: 2_000
} as const;

export interface DiffInput {
  expectedBuckets: readonly string[];
  /** Expected rows in key order (see row-key-order.ts), a page at a time. */
  expectedRows: AsyncIterable<SyncedRow[]>;
  actualBuckets: readonly ActualBucket[];
  /** The client's live rows in the same order, each once with all its buckets. */
  actualRows: AsyncIterable<ActualRow[]>;
  /** The checkpoint the service sent, to compare the client's bucket checksums against. */
  checkpoint: CheckpointLine | null;
  maxDifferences?: number;
}

export interface StateDiff {
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

const difference = (kind: DiffKind, r: SyncedRow, extra: Partial<RowDifference> = {}): RowDifference => ({
  kind,
  table: r.table,
  id: r.id,
  buckets: r.buckets,
  settled: 'persisted',
  explanation: '',
  ...extra
});

/** One side of the merge: the current row of the current page; awaits only at page boundaries. */
class PageCursor {
  private page: SyncedRow[] = [];
  private index = 0;
  private done = false;
  constructor(private readonly pages: AsyncIterator<SyncedRow[]>) {}

  get row(): SyncedRow | undefined {
    return this.page[this.index];
  }

  /** Moves to the next row; false when the page is used up and `fill` must run. */
  step(): boolean {
    this.index++;
    return this.index < this.page.length || this.done;
  }

  async fill(): Promise<void> {
    while (!this.done && this.index >= this.page.length) {
      const next = await this.pages.next();
      if (next.done) {
        this.done = true;
        this.page = [];
      } else this.page = next.value;
      this.index = 0;
      // Let the client (and anything else on this thread) run between pages.
      await nextTurn();
    }
  }
}

export function bucketDifferencesOf(
  expected: readonly string[],
  actual: readonly ActualBucket[]
): BucketDifference[] {
  const expectedSet = new Set(expected);
  const actualSet = new Set(actual.map((b) => b.bucket));
  return [
    ...[...expectedSet]
      .filter((b) => !actualSet.has(b))
      .map((bucket) => ({ kind: 'missing' as const, bucket, explanation: '' })),
    ...[...actualSet]
      .filter((b) => !expectedSet.has(b))
      .map((bucket) => ({ kind: 'extra' as const, bucket, explanation: '' }))
  ];
}

/**
 * Buckets (missing/extra), rows (missing/extra/different, field by field for the listed ones), each live
 * row's PUT checksum against the expected row's, and the client's bucket checksums against the
 * checkpoint it was sent (only comparable when the client is at that checkpoint).
 */
export async function diffStates(input: DiffInput): Promise<StateDiff> {
  const maxDifferences = input.maxDifferences ?? DIFF_DEFAULTS.maxDifferences;
  const rowDifferences: RowDifference[] = [];
  const differenceCounts: Record<DiffKind, number> = { missing: 0, extra: 0, different: 0 };
  const perTable: Record<string, { expected: number; actual: number }> = {};
  let expectedRows = 0;
  let actualRows = 0;
  let rowChecksumMismatches = 0;
  let tableCounts = { name: '', counts: { expected: 0, actual: 0 } };
  const countsOf = (table: string) => {
    if (tableCounts.name !== table) {
      perTable[table] ??= { expected: 0, actual: 0 };
      tableCounts = { name: table, counts: perTable[table] };
    }
    return tableCounts.counts;
  };
  const report = (kind: DiffKind, build: () => RowDifference) => {
    differenceCounts[kind]++;
    if (rowDifferences.length < maxDifferences) rowDifferences.push(build());
  };

  const expected = new PageCursor(input.expectedRows[Symbol.asyncIterator]());
  const actual = new PageCursor(input.actualRows[Symbol.asyncIterator]());
  await expected.fill();
  await actual.fill();
  for (;;) {
    const e = expected.row;
    const a = actual.row;
    if (!e && !a) break;
    const order = !e ? 1 : !a ? -1 : compareRowKeys(e.table, e.id, a.table, a.id);
    if (order <= 0) {
      expectedRows++;
      countsOf(e!.table).expected++;
    }
    if (order >= 0) {
      actualRows++;
      countsOf(a!.table).actual++;
    }
    if (order < 0) {
      report('missing', () => difference('missing', e!, { expectedChecksum: e!.checksum }));
    } else if (order > 0) {
      report('extra', () => difference('extra', a!, { actualChecksum: a!.checksum }));
    } else if (a!.checksum !== e!.checksum || a!.json !== e!.json) {
      rowChecksumMismatches++;
      report('different', () =>
        difference('different', e!, {
          fields: fieldDifferences(e!.json, a!.json),
          expectedChecksum: e!.checksum,
          actualChecksum: a!.checksum
        })
      );
    }
    if (order <= 0 && !expected.step()) await expected.fill();
    if (order >= 0 && !actual.step()) await actual.fill();
  }

  const bucketChecksumMismatches: StateDiff['bucketChecksumMismatches'] = [];
  const clientBuckets = new Map(input.actualBuckets.map((b) => [b.bucket, b]));
  for (const b of input.checkpoint?.buckets ?? []) {
    const client = clientBuckets.get(b.bucket);
    if (client && client.lastOp === input.checkpoint!.last_op_id && client.checksum !== b.checksum >>> 0) {
      bucketChecksumMismatches.push({
        bucket: b.bucket,
        checkpoint: b.checksum >>> 0,
        client: client.checksum
      });
    }
  }
  return {
    bucketDifferences: bucketDifferencesOf(input.expectedBuckets, input.actualBuckets),
    rowDifferences,
    differenceCounts,
    perTable,
    expectedRows,
    actualRows,
    rowChecksumMismatches,
    bucketChecksumMismatches
  };
}
