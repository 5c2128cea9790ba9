/**
 * The light probe's diff: the expected rows against the live rows a SyncStreamReader holds, in memory
 * (no client database to join). It gives the full diff's StateDiff, built with its helpers (held
 * buckets, bucket differences, field differences, key order), so the settle window, the explanations
 * and the report are the full probe's.
 *
 *   expected row ─┬─ no live op for (table, id) ───────────────────▶ missing
 *                 └─ a live op whose data or PUT checksum differs ─▶ different
 *   live op ────── no expected row for (table, id) ────────────────▶ extra
 */
import {
  bucketDifferencesOf,
  DIFF_DEFAULTS,
  fieldDifferences,
  heldBuckets,
  type StateDiff
} from '../diff/diff-states.ts';
import { compareRowKeys } from '../diff/row-key-order.ts';
import { type ExpectedRowStore, rowKey } from '../expected/expected-rows.ts';
import type { DiffKind, RowDifference } from '../probe-types.ts';
import { type CheckpointLine, checkBuckets, type StreamState } from './sync-stream-reader.ts';

interface LiveOp {
  bucket: string;
  table: string;
  id: string;
  data: string;
  checksum: number;
}

/** Every live op by (table, id): a row in several buckets has one per bucket. */
function liveOpsByRow(state: StreamState): Map<string, LiveOp[]> {
  const byRow = new Map<string, LiveOp[]>();
  for (const b of state.buckets.values()) {
    for (const row of b.rows.values()) {
      const key = rowKey(row.table, row.id);
      const op = { bucket: b.bucket, ...row };
      const ops = byRow.get(key);
      if (ops) ops.push(op);
      else byRow.set(key, [op]);
    }
  }
  return byRow;
}

const base = (kind: DiffKind, table: string, id: string, buckets: string[]) => ({
  kind,
  table,
  id,
  buckets,
  settled: 'persisted' as const,
  explanation: ''
});

export interface LiveDiffInput {
  expectedBuckets: readonly string[];
  expectedRows: ExpectedRowStore;
  state: StreamState;
  /** The first checkpoint, whose empty buckets count as held (as in the full diff). */
  checkpoint: CheckpointLine | null;
  maxDifferences?: number;
}

export function diffLiveState(input: LiveDiffInput): StateDiff {
  const max = input.maxDifferences ?? DIFF_DEFAULTS.maxDifferences;
  const live = liveOpsByRow(input.state);
  const counts: Record<DiffKind, number> = { missing: 0, extra: 0, different: 0 };
  const perTable: StateDiff['perTable'] = {};
  const tally = (table: string, side: 'expected' | 'actual') => {
    perTable[table] ??= { expected: 0, actual: 0 };
    perTable[table][side]++;
  };
  const differences: RowDifference[] = [];
  for (const row of input.expectedRows.values()) {
    tally(row.table, 'expected');
    const key = rowKey(row.table, row.id);
    const ops = live.get(key);
    live.delete(key);
    if (!ops) {
      counts.missing++;
      differences.push({
        ...base('missing', row.table, row.id, row.buckets),
        expectedChecksum: row.checksum
      });
      continue;
    }
    tally(row.table, 'actual');
    const wrong = ops.find((op) => op.data !== row.json || op.checksum !== row.checksum);
    if (!wrong) continue;
    counts.different++;
    differences.push({
      ...base('different', row.table, row.id, row.buckets),
      fields: fieldDifferences(row.json, wrong.data),
      expectedChecksum: row.checksum,
      actualChecksum: wrong.checksum
    });
  }
  // What is left of the live rows was not expected.
  for (const ops of live.values()) {
    const { table, id, checksum } = ops[0]!;
    tally(table, 'actual');
    counts.extra++;
    differences.push({
      ...base('extra', table, id, [...new Set(ops.map((o) => o.bucket))].sort()),
      actualChecksum: checksum
    });
  }
  differences.sort((a, b) => compareRowKeys(a.table, a.id, b.table, b.id));
  const actualBuckets = [...input.state.buckets.values()]
    .filter((b) => b.operations > 0 || b.rows.size > 0)
    .map((b) => ({ bucket: b.bucket, lastOp: b.after, checksum: b.checksum >>> 0 }));
  const held = heldBuckets(actualBuckets, input.checkpoint, input.expectedBuckets);
  const tables = Object.values(perTable);
  return {
    heldBuckets: held,
    bucketDifferences: bucketDifferencesOf(input.expectedBuckets, held),
    rowDifferences: differences.slice(0, max),
    differenceCounts: counts,
    perTable,
    expectedRows: tables.reduce((n, t) => n + t.expected, 0),
    actualRows: tables.reduce((n, t) => n + t.actual, 0),
    rowChecksumMismatches: counts.different,
    // Only at a completed checkpoint is the state comparable with the checkpoint's checksums.
    bucketChecksumMismatches:
      input.state.completed === input.state.checkpoint?.lastOpId
        ? checkBuckets(input.state)
            .filter((c) => !c.ok)
            .map((c) => ({ bucket: c.bucket, checkpoint: c.expectedChecksum, client: c.actualChecksum }))
        : []
  };
}
