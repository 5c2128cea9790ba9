import type { SqliteJsonValue } from '@powersync/service-sync-rules';
import type {
  BucketDifference,
  ExpectedState,
  FieldDifference,
  RowDifference,
  SyncedRow
} from '../probe-types.ts';
import type { ActualState, CheckpointLine } from '../sync/sync-as-user.ts';

export interface StateDiff {
  bucketDifferences: BucketDifference[];
  rowDifferences: RowDifference[];
  perTable: Record<string, { expected: number; actual: number }>;
  actualRows: number;
  rowChecksumMismatches: number;
  bucketChecksumMismatches: { bucket: string; checkpoint: number; client: number }[];
}

interface ActualRow {
  table: string;
  id: string;
  json: string;
  checksum: number;
  buckets: string[];
}

function actualRows(actual: ActualState): Map<string, ActualRow> {
  const rows = new Map<string, ActualRow>();
  for (const op of actual.ops) {
    const key = `${op.table}/${op.id}`;
    const row = rows.get(key);
    if (row) row.buckets.push(op.bucket);
    else
      rows.set(key, {
        table: op.table,
        id: op.id,
        json: op.data,
        checksum: op.checksum,
        buckets: [op.bucket]
      });
  }
  return rows;
}

function fieldDifferences(expectedJson: string, actualJson: string): FieldDifference[] {
  const expected = JSON.parse(expectedJson) as Record<string, SqliteJsonValue>;
  const actual = JSON.parse(actualJson) as Record<string, SqliteJsonValue>;
  const fields = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...fields]
    .filter((f) => JSON.stringify(expected[f]) !== JSON.stringify(actual[f]))
    .map((field) => ({ field, expected: expected[field], actual: actual[field] }));
}

const row = (
  kind: RowDifference['kind'],
  r: SyncedRow | ActualRow,
  extra: Partial<RowDifference> = {}
): RowDifference => ({
  kind,
  table: r.table,
  id: r.id,
  buckets: r.buckets,
  settled: 'persisted',
  explanation: '',
  ...extra
});

/**
 * Expected against actual: buckets (missing/extra), rows (missing/extra/different, field by field), each
 * live row's PUT checksum against the expected row's, and the client's bucket checksums against the
 * checkpoint it was sent (only comparable when the client is at that checkpoint).
 */
export function diffStates(
  expected: ExpectedState,
  actual: ActualState,
  checkpoint: CheckpointLine | null
): StateDiff {
  const expectedBuckets = new Set(expected.buckets.map((b) => b.bucket));
  const actualBuckets = new Set(actual.buckets.map((b) => b.bucket));
  const bucketDifferences: BucketDifference[] = [
    ...[...expectedBuckets]
      .filter((b) => !actualBuckets.has(b))
      .map((bucket) => ({ kind: 'missing' as const, bucket, explanation: '' })),
    ...[...actualBuckets]
      .filter((b) => !expectedBuckets.has(b))
      .map((bucket) => ({ kind: 'extra' as const, bucket, explanation: '' }))
  ];

  const actualByKey = actualRows(actual);
  const rowDifferences: RowDifference[] = [];
  const perTable: Record<string, { expected: number; actual: number }> = {};
  const count = (table: string, side: 'expected' | 'actual') => {
    perTable[table] ??= { expected: 0, actual: 0 };
    perTable[table][side]++;
  };
  let rowChecksumMismatches = 0;
  for (const [key, e] of expected.rows) {
    count(e.table, 'expected');
    const a = actualByKey.get(key);
    if (!a) {
      rowDifferences.push(row('missing', e, { expectedChecksum: e.checksum }));
      continue;
    }
    if (a.checksum !== e.checksum || a.json !== e.json) {
      rowChecksumMismatches++;
      rowDifferences.push(
        row('different', e, {
          fields: fieldDifferences(e.json, a.json),
          expectedChecksum: e.checksum,
          actualChecksum: a.checksum
        })
      );
    }
  }
  for (const [key, a] of actualByKey) {
    count(a.table, 'actual');
    if (!expected.rows.has(key)) rowDifferences.push(row('extra', a, { actualChecksum: a.checksum }));
  }

  const bucketChecksumMismatches: StateDiff['bucketChecksumMismatches'] = [];
  for (const b of checkpoint?.buckets ?? []) {
    const client = actual.buckets.find((x) => x.bucket === b.bucket);
    if (client && client.lastOp === checkpoint!.last_op_id && client.checksum !== b.checksum >>> 0) {
      bucketChecksumMismatches.push({
        bucket: b.bucket,
        checkpoint: b.checksum >>> 0,
        client: client.checksum
      });
    }
  }
  return {
    bucketDifferences,
    rowDifferences,
    perTable,
    actualRows: actualByKey.size,
    rowChecksumMismatches,
    bucketChecksumMismatches
  };
}
