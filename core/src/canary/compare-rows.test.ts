import { describe, expect, it } from 'vitest';
import { applySyncLine, emptyStreamState } from '../probe/light/sync-stream-reader.ts';
import type { SyncedRow } from '../probe/probe-types.ts';
import { bucketComparison, differingRows, heldRows } from './compare-rows.ts';
import { FreshnessWatch } from './freshness-marker.ts';

const B1 = '1#by_workspace["w1"]';
const B2 = '1#by_workspace["w2"]';

/** A stream state holding `ops` in bucket B1, and B1 and B2 in its checkpoint. */
function streamWith(ops: { id: string; data: string; checksum: number }[]) {
  const state = emptyStreamState();
  applySyncLine(state, {
    checkpoint: {
      last_op_id: '9',
      buckets: [
        { bucket: B1, checksum: 0, count: ops.length },
        { bucket: B2, checksum: 0, count: 0 }
      ]
    }
  });
  applySyncLine(state, {
    data: {
      bucket: B1,
      after: '0',
      has_more: false,
      next_after: '9',
      data: ops.map((o, i) => ({
        op_id: String(i + 1),
        op: 'PUT' as const,
        object_type: 'records',
        object_id: o.id,
        subkey: `t1/${o.id}`,
        checksum: o.checksum,
        data: o.data
      }))
    }
  });
  return state;
}

const expectedRow = (id: string, checksum: number, buckets = [B1]): SyncedRow => ({
  table: 'records',
  id,
  json: '{}',
  checksum,
  buckets
});

describe('the canary comparison', () => {
  const state = streamWith([
    { id: 'a', data: '{"title":"A"}', checksum: 11 },
    { id: 'b', data: '{"title":"B"}', checksum: 22 }
  ]);
  const held = heldRows(state);

  it('keys the stream by table/id whatever the subkey, and finds missing, extra and different rows', () => {
    expect([...held.keys()].sort()).toEqual(['records/a', 'records/b']);
    const expected = new Map([
      ['records/a', expectedRow('a', 11)],
      ['records/b', expectedRow('b', 23)],
      ['records/c', expectedRow('c', 33)]
    ]);
    expect(differingRows(['records/a', 'records/b', 'records/c', 'records/d'], expected, held)).toEqual(
      new Set(['records/b', 'records/c'])
    );
    // Expected in a second bucket the stream does not hold it in: different.
    expect(
      differingRows(['records/a'], new Map([['records/a', expectedRow('a', 11, [B1, B2])]]), held)
    ).toEqual(new Set(['records/a']));
    // Held but not expected (deleted in the source, or moved out of the user's buckets): extra.
    expect(differingRows(['records/a'], new Map(), held)).toEqual(new Set(['records/a']));
  });

  it("compares the expected buckets with the checkpoint's", () => {
    expect(bucketComparison([B1, B2], state).differing).toEqual(new Set());
    expect(bucketComparison([B1, '1#by_workspace["w3"]'], state).differing).toEqual(
      new Set([`bucket:${B2}`, 'bucket:1#by_workspace["w3"]'])
    );
  });
});

describe('FreshnessWatch', () => {
  it("times each canary's first sight of the current marker once, and ignores other rows and old markers", () => {
    const lags: [string, number][] = [];
    const watch = new FreshnessWatch((canary, seconds) => lags.push([canary, seconds]));
    const line = (marker: string, id = 'm1') => ({
      bucket: B1,
      after: '0',
      has_more: false,
      next_after: '1',
      data: [
        {
          op_id: '1',
          op: 'PUT' as const,
          object_type: 'records',
          object_id: id,
          checksum: 1,
          data: JSON.stringify({ title: marker })
        }
      ]
    });
    watch.expect({ rowId: 'm1', marker: 'syncscope-freshness #2', sentAt: 1000 }, 'records', 'title');
    watch.arrived('u1', line('syncscope-freshness #1'), 1100);
    watch.arrived('u1', line('syncscope-freshness #2', 'other'), 1100);
    watch.arrived('u1', line('syncscope-freshness #2'), 1250);
    watch.arrived('u1', line('syncscope-freshness #2'), 1900);
    watch.arrived('u2', line('syncscope-freshness #2'), 1500);
    expect(lags).toEqual([
      ['u1', 0.25],
      ['u2', 0.5]
    ]);
  });
});
