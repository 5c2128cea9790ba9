/**
 * The canary's comparison: the rows the source and the rules give the user (expected) against the rows
 * its sync stream holds (the reader's per-bucket state), for the keys it is asked about.
 */
import type { StreamState } from '../probe/light/sync-stream-reader.ts';
import type { SyncedRow } from '../probe/probe-types.ts';
import { BUCKET_KEY_PREFIX } from './canary-verdict.ts';

/** A row as the stream holds it: its JSON and PUT checksum per bucket. */
export interface HeldRow {
  table: string;
  id: string;
  byBucket: Map<string, { data: string; checksum: number }>;
}

export const rowKeyOf = (table: string, id: string) => `${table}/${id}`;

/**
 * The stream's rows by `table/id` (the reader keys them by subkey too, which the service forms from the
 * source table and row). One pass over the held rows; the latest PUT per bucket wins.
 */
export function heldRows(state: StreamState): Map<string, HeldRow> {
  const out = new Map<string, HeldRow>();
  for (const bucket of state.buckets.values()) {
    for (const row of bucket.rows.values()) {
      const key = rowKeyOf(row.table, row.id);
      let held = out.get(key);
      if (!held) {
        held = { table: row.table, id: row.id, byBucket: new Map() };
        out.set(key, held);
      }
      held.byBucket.set(bucket.bucket, { data: row.data, checksum: row.checksum });
    }
  }
  return out;
}

/** Whether the held row is the expected one: the same buckets, each copy with the expected checksum. */
function rowAgrees(expected: SyncedRow | undefined, held: HeldRow | undefined): boolean {
  if (!expected || !held) return !expected && !held;
  if (expected.buckets.length !== held.byBucket.size) return false;
  return expected.buckets.every((b) => held.byBucket.get(b)?.checksum === expected.checksum >>> 0);
}

/** Of `keys`, those whose expected and held rows differ (missing, extra, or different data or buckets). */
export function differingRows(
  keys: Iterable<string>,
  expected: ReadonlyMap<string, SyncedRow>,
  held: ReadonlyMap<string, HeldRow>
): Set<string> {
  const out = new Set<string>();
  for (const key of keys) if (!rowAgrees(expected.get(key), held.get(key))) out.add(key);
  return out;
}

/** The expected buckets against the checkpoint's, as tracker keys (`bucket:NAME`): every one checked, those differing. */
export function bucketComparison(
  expectedBuckets: readonly string[],
  state: StreamState
): { checked: string[]; differing: Set<string> } {
  const served = new Set(state.checkpoint?.buckets.keys() ?? []);
  const expected = new Set(expectedBuckets);
  const all = new Set([...served, ...expected]);
  const differing = new Set<string>();
  for (const b of all) if (served.has(b) !== expected.has(b)) differing.add(`${BUCKET_KEY_PREFIX}${b}`);
  return { checked: [...all].map((b) => `${BUCKET_KEY_PREFIX}${b}`), differing };
}
