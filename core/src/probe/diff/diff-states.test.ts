import { rowChecksum } from '@syncscope/core/probe/expected/fast-encoding';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MemoryExpectedRows, SpilledExpectedRows } from '../expected/expected-rows.ts';
import type { SyncedRow } from '../probe-types.ts';
import type { ActualRow } from '../sync/client-rows.ts';
import { diffStates } from './diff-states.ts';
import { compareText } from './row-key-order.ts';

const B1 = '1#by_workspace["ws-1"]';
const B2 = '1#by_workspace["ws-2"]';

function row(table: string, id: string, data: Record<string, unknown>, buckets = [B1]): SyncedRow {
  const json = JSON.stringify({ id, ...data });
  return { table, id, json, checksum: rowChecksum(table, id, json), buckets };
}

/** Actual rows in key order, `size` per page, as the client reader hands them over. */
async function* pagesOf(rows: ActualRow[], size: number): AsyncIterableIterator<ActualRow[]> {
  const sorted = [...rows].sort((a, b) => compareText(a.table, b.table) || compareText(a.id, b.id));
  for (let i = 0; i < sorted.length; i += size) yield sorted.slice(i, i + size);
}

function storeOf(rows: SyncedRow[], spilled: boolean) {
  const store = spilled ? new SpilledExpectedRows() : new MemoryExpectedRows();
  for (const r of rows) store.add(r);
  store.finish();
  return store;
}

// Ten records r00..r09 expected; the client lacks r02 and r05, holds an extra r03b and x00, and has a
// changed title for r04 (the last row of the second page of 2) and r06 (the first of the fourth).
const expectedRows = Array.from({ length: 10 }, (_, i) =>
  row('records', `r0${i}`, { title: `title ${i}`, n: i })
);
const actualRows: ActualRow[] = [
  ...expectedRows.filter((r) => !['r02', 'r05', 'r04', 'r06'].includes(r.id)),
  row('records', 'r04', { title: 'stale 4', n: 4 }),
  row('records', 'r06', { title: 'title 6', n: 60 }),
  row('records', 'r03b', { title: 'not in the source', n: 3 }),
  row('records', 'x00', { title: 'after every expected row', n: 0 })
];

describe('diffStates: a merge over key-ordered pages', () => {
  for (const spilled of [false, true]) {
    for (const [expectedPage, actualPage] of [
      [2, 2],
      [3, 1],
      [1, 4],
      [100, 100]
    ] as const) {
      it(`finds missing, extra and different rows at any page boundary (${spilled ? 'spilled' : 'in-memory'} expected rows, pages of ${expectedPage} / ${actualPage})`, async () => {
        const store = storeOf(expectedRows, spilled);
        const diff = await diffStates({
          expectedBuckets: [B1],
          expectedRows: store.pages(expectedPage),
          actualBuckets: [{ bucket: B1, lastOp: '1', checksum: 0 }],
          actualRows: pagesOf(actualRows, actualPage),
          checkpoint: null
        });
        store.close();
        expect(diff.rowDifferences.map((d) => [d.kind, d.id])).toEqual([
          ['missing', 'r02'],
          ['extra', 'r03b'],
          ['different', 'r04'],
          ['missing', 'r05'],
          ['different', 'r06'],
          ['extra', 'x00']
        ]);
        expect(diff.differenceCounts).toEqual({ missing: 2, extra: 2, different: 2 });
        expect(diff.rowDifferences.find((d) => d.id === 'r04')?.fields).toEqual([
          { field: 'title', expected: 'title 4', actual: 'stale 4' }
        ]);
        expect(diff.rowDifferences.find((d) => d.id === 'r06')?.fields).toEqual([
          { field: 'n', expected: 6, actual: 60 }
        ]);
        expect(diff.perTable).toEqual({ records: { expected: 10, actual: 10 } });
        expect([diff.expectedRows, diff.actualRows]).toEqual([10, 10]);
        expect(diff.rowChecksumMismatches).toBe(2);
      });
    }
  }

  it('counts every difference but keeps only the first N in full, in key order', async () => {
    const store = storeOf(expectedRows, true);
    const diff = await diffStates({
      expectedBuckets: [B1],
      expectedRows: store.pages(3),
      actualBuckets: [],
      actualRows: pagesOf([], 3),
      checkpoint: null,
      maxDifferences: 4
    });
    store.close();
    expect(diff.differenceCounts).toEqual({ missing: 10, extra: 0, different: 0 });
    expect(diff.rowDifferences.map((d) => d.id)).toEqual(['r00', 'r01', 'r02', 'r03']);
    expect(diff.perTable).toEqual({ records: { expected: 10, actual: 0 } });
    expect(diff.bucketDifferences).toEqual([{ kind: 'missing', bucket: B1, explanation: '' }]);
  });

  it('matches a row held in two buckets once, with both buckets, across tables in table order', async () => {
    const shared = row('categories', 'c1', { name: 'shared' }, [B1]);
    const store = storeOf([shared, { ...shared, buckets: [B2] }, row('records', 'r1', { a: 1 })], true);
    expect(store.size).toBe(2);
    const diff = await diffStates({
      expectedBuckets: [B1, B2],
      expectedRows: store.pages(1),
      actualBuckets: [
        { bucket: B1, lastOp: '3', checksum: 0 },
        { bucket: B2, lastOp: '3', checksum: 0 }
      ],
      actualRows: pagesOf([{ ...shared, buckets: [B1, B2] }], 1),
      checkpoint: null
    });
    store.close();
    expect(diff.rowDifferences.map((d) => [d.kind, d.table, d.id, d.buckets])).toEqual([
      ['missing', 'records', 'r1', [B1]]
    ]);
    expect(diff.perTable).toEqual({
      categories: { expected: 1, actual: 1 },
      records: { expected: 1, actual: 0 }
    });
  });

  it("reports a client bucket checksum that differs from the checkpoint's only when the client is at it", async () => {
    const diff = await diffStates({
      expectedBuckets: [B1, B2],
      expectedRows: pagesOf([], 1),
      actualBuckets: [
        { bucket: B1, lastOp: '7', checksum: 11 },
        { bucket: B2, lastOp: '6', checksum: 12 }
      ],
      actualRows: pagesOf([], 1),
      checkpoint: {
        last_op_id: '7',
        buckets: [
          { bucket: B1, checksum: 10, count: 1 },
          { bucket: B2, checksum: 10, count: 1 }
        ]
      }
    });
    expect(diff.bucketChecksumMismatches).toEqual([{ bucket: B1, checkpoint: 10, client: 11 }]);
  });
});

describe('key order', () => {
  it("compareText sorts as SQLite's BINARY collation does, surrogate pairs included", () => {
    const texts = ['a', 'b', 'ab', '', 'Z', 'é', '\uffff', '\ue000', '😀', '😀a', 'a😀', '\ud7ff', '中'];
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t(v TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    for (const t of texts) insert.run(t);
    const sqliteOrder = db
      .prepare('SELECT v FROM t ORDER BY v')
      .all()
      .map((r) => (r as { v: string }).v);
    db.close();
    expect([...texts].sort(compareText)).toEqual(sqliteOrder);
    // JavaScript's own order differs exactly there: an emoji sorts before U+E000 by UTF-16 code unit.
    expect([...texts].sort()).not.toEqual(sqliteOrder);
  });
});
