import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase, Schema } from '@powersync/node';
import { rowChecksum } from '@syncscope/core/probe/expected/fast-encoding';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpilledExpectedRows } from '../expected/expected-rows.ts';
import type { SyncedRow } from '../probe-types.ts';
import { ClientDatabase } from '../sync/client-database.ts';
import { diffStates } from './diff-states.ts';
import { compareText } from './row-key-order.ts';

const B1 = '1#by_workspace["ws-1"]';
const B2 = '1#by_workspace["ws-2"]';

function row(table: string, id: string, data: Record<string, unknown>, buckets = [B1]): SyncedRow {
  const json = JSON.stringify({ id, ...data });
  return { table, id, json, checksum: rowChecksum(table, id, json), buckets };
}

function storeOf(rows: SyncedRow[]): SpilledExpectedRows {
  const store = SpilledExpectedRows.create();
  for (const r of rows) store.add(r);
  store.finish();
  return store;
}

/**
 * A database created by the real @powersync/node client (its own ps_buckets / ps_oplog tables and
 * indexes); each test writes the op log the way the client stores a sync's PUTs, one op per bucket.
 */
describe('diffStates: expected rows joined with the client database inside SQLite', () => {
  let dir: string;
  let file: string;
  let client: PowerSyncDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-diff-'));
    client = new PowerSyncDatabase({
      schema: new Schema({}),
      database: { dbFilename: 'client.db', dbLocation: dir }
    });
    await client.init();
    file = path.join(dir, 'client.db');
  });
  afterAll(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Replaces the client's op log (the client keeps its connection open; a second one writes). */
  function clientHolds(rows: SyncedRow[], hashOf = (r: SyncedRow) => r.checksum) {
    const db = new Database(file);
    db.exec('DELETE FROM ps_oplog; DELETE FROM ps_buckets');
    const held = new Set(rows.flatMap((r) => r.buckets));
    for (const [id, name] of [B1, B2].entries())
      if (held.has(name))
        db.prepare('INSERT INTO ps_buckets(id, name, last_op) VALUES (?, ?, 9)').run(id + 1, name);
    const put = db.prepare(
      'INSERT INTO ps_oplog(bucket, op_id, row_type, row_id, key, data, hash) VALUES (?, ?, ?, ?, ?, ?, ?)'
    );
    let op = 0;
    for (const r of rows) {
      for (const b of r.buckets)
        put.run(b === B1 ? 1 : 2, ++op, r.table, r.id, `${r.table}/${r.id}`, r.json, hashOf(r));
    }
    db.close();
  }

  const diff = (expected: SpilledExpectedRows, maxDifferences?: number) => {
    const actualBuckets = new ClientDatabase(file);
    try {
      return diffStates({
        expectedBuckets: [B1],
        expectedRows: expected,
        actualBuckets: actualBuckets.buckets(),
        clientFile: file,
        checkpoint: null,
        maxDifferences
      });
    } finally {
      actualBuckets.close();
      expected.close();
    }
  };

  // Ten records r00..r09 expected; the client lacks r02 and r05, holds an extra r03b and x00, has a
  // changed title for r04, a changed number for r06, and r07's data right but its checksum wrong.
  const expectedRows = Array.from({ length: 10 }, (_, i) =>
    row('records', `r0${i}`, { title: `title ${i}`, n: i })
  );
  const actualRows = [
    ...expectedRows.filter((r) => !['r02', 'r05', 'r04', 'r06'].includes(r.id)),
    row('records', 'r04', { title: 'stale 4', n: 4 }),
    row('records', 'r06', { title: 'title 6', n: 60 }),
    row('records', 'r03b', { title: 'not in the source', n: 3 }),
    row('records', 'x00', { title: 'after every expected row', n: 0 })
  ];

  it('finds missing, extra and different rows, in key order, with field diffs and checksums', () => {
    clientHolds(actualRows, (r) => (r.id === 'r07' ? r.checksum ^ 1 : r.checksum));
    const d = diff(storeOf(expectedRows));
    expect(d.rowDifferences.map((x) => [x.kind, x.id])).toEqual([
      ['missing', 'r02'],
      ['extra', 'r03b'],
      ['different', 'r04'],
      ['missing', 'r05'],
      ['different', 'r06'],
      ['different', 'r07'],
      ['extra', 'x00']
    ]);
    expect(d.differenceCounts).toEqual({ missing: 2, extra: 2, different: 3 });
    const byId = (id: string) => d.rowDifferences.find((x) => x.id === id);
    expect(byId('r04')?.fields).toEqual([{ field: 'title', expected: 'title 4', actual: 'stale 4' }]);
    expect(byId('r06')?.fields).toEqual([{ field: 'n', expected: 6, actual: 60 }]);
    // Same data, another checksum: different with no field, both checksums shown.
    const r07 = expectedRows[7]!;
    expect(byId('r07')).toMatchObject({
      fields: [],
      expectedChecksum: r07.checksum,
      actualChecksum: (r07.checksum ^ 1) >>> 0
    });
    expect(byId('r03b')).toMatchObject({ buckets: [B1], actualChecksum: actualRows.at(-2)!.checksum });
    expect(d.perTable).toEqual({ records: { expected: 10, actual: 10 } });
    expect([d.expectedRows, d.actualRows]).toEqual([10, 10]);
    expect(d.rowChecksumMismatches).toBe(3);
  });

  it('a consistent client: no difference', () => {
    clientHolds(expectedRows);
    const d = diff(storeOf(expectedRows));
    expect(d.rowDifferences).toEqual([]);
    expect(d.differenceCounts).toEqual({ missing: 0, extra: 0, different: 0 });
    expect(d.bucketDifferences).toEqual([]);
  });

  it('counts every difference but keeps only the first N in full, in key order', () => {
    // Past the kept N too, a row in two buckets counts once.
    const extraInTwo = row('records', 'z9', { x: 1 }, [B1, B2]);
    clientHolds([row('records', 'a0', { x: 1 }), row('records', 'r015', { x: 1 }), extraInTwo]);
    const d = diff(storeOf(expectedRows), 4);
    expect(d.differenceCounts).toEqual({ missing: 10, extra: 3, different: 0 });
    expect(d.rowDifferences.map((x) => [x.kind, x.id])).toEqual([
      ['extra', 'a0'],
      ['missing', 'r00'],
      ['missing', 'r01'],
      ['extra', 'r015']
    ]);
    expect(d.perTable).toEqual({ records: { expected: 10, actual: 3 } });
  });

  it('matches a row held in two buckets once, and flags it when one bucket holds a stale copy', () => {
    const shared = row('categories', 'c1', { name: 'shared' }, [B1, B2]);
    const extra = row('lists', 'l1', { name: 'gone' }, [B2, B1]);
    clientHolds([shared, extra]);
    const consistent = diff(
      storeOf([
        { ...shared, buckets: [B1] },
        { ...shared, buckets: [B2] }
      ])
    );
    expect(consistent.rowDifferences.map((x) => [x.kind, x.table, x.id, x.buckets])).toEqual([
      ['extra', 'lists', 'l1', [B1, B2]]
    ]);
    expect(consistent.perTable).toEqual({
      categories: { expected: 1, actual: 1 },
      lists: { expected: 0, actual: 1 }
    });

    const stale = row('categories', 'c1', { name: 'old name' }, [B2]);
    clientHolds([{ ...shared, buckets: [B1] }, stale]);
    const d = diff(storeOf([shared]));
    expect(d.rowDifferences).toMatchObject([
      { kind: 'different', id: 'c1', fields: [{ field: 'name', expected: 'shared', actual: 'old name' }] }
    ]);
    expect(d.actualRows).toBe(1);
  });

  it('reads checksums the client stores as signed or unsigned 32-bit values alike', () => {
    const r = expectedRows[0]!;
    clientHolds([r], () => r.checksum | 0); // the signed form of the same 32 bits
    expect(diff(storeOf([r])).rowDifferences).toEqual([]);
  });

  it("reports a client bucket checksum that differs from the checkpoint's only when the client is at it", () => {
    clientHolds([]);
    const d = diffStates({
      expectedBuckets: [B1, B2],
      expectedRows: storeOf([]),
      actualBuckets: [
        { bucket: B1, lastOp: '7', checksum: 11 },
        { bucket: B2, lastOp: '6', checksum: 12 }
      ],
      clientFile: file,
      checkpoint: {
        last_op_id: '7',
        buckets: [
          { bucket: B1, checksum: 10, count: 1 },
          { bucket: B2, checksum: 10, count: 1 }
        ]
      }
    });
    expect(d.bucketChecksumMismatches).toEqual([{ bucket: B1, checkpoint: 10, client: 11 }]);
  });

  it('an empty bucket the checkpoint lists is held though the client never stores it; one it omits is missing', () => {
    clientHolds(expectedRows);
    const reader = new ClientDatabase(file);
    const actualBuckets = reader.buckets();
    reader.close();
    const empty = '1#by_workspace["ws-empty"]';
    const d = (count: number) =>
      diffStates({
        expectedBuckets: [B1, empty],
        expectedRows: storeOf(expectedRows),
        actualBuckets,
        clientFile: file,
        checkpoint: { last_op_id: '9', buckets: [{ bucket: empty, checksum: 0, count }] }
      });
    expect(d(0)).toMatchObject({ heldBuckets: [B1, empty], bucketDifferences: [] });
    expect(d(1)).toMatchObject({
      heldBuckets: [B1],
      bucketDifferences: [{ kind: 'missing', bucket: empty }]
    });
    // Revoked since the checkpoint the probe holds (the preflight's): not expected, so not held, and
    // not an "extra" bucket that no settle window could clear.
    const revoked = diffStates({
      expectedBuckets: [B1],
      expectedRows: storeOf(expectedRows),
      actualBuckets,
      clientFile: file,
      checkpoint: { last_op_id: '9', buckets: [{ bucket: empty, checksum: 0, count: 0 }] }
    });
    expect(revoked).toMatchObject({ heldBuckets: [B1], bucketDifferences: [] });
  });

  it('without a checkpoint (the inspector), expected buckets the source puts no rows in are held as empty', () => {
    clientHolds(expectedRows);
    const reader = new ClientDatabase(file);
    const actualBuckets = reader.buckets();
    reader.close();
    const empty = '1#by_workspace["ws-empty"]';
    const store = storeOf(expectedRows);
    expect(store.bucketsWithRows()).toEqual(new Set([B1]));
    const d = diffStates({
      expectedBuckets: [B1, empty],
      expectedRows: store,
      actualBuckets,
      clientFile: file,
      checkpoint: null,
      emptyBuckets: [B1, empty].filter((b) => !store.bucketsWithRows().has(b))
    });
    expect(d).toMatchObject({ heldBuckets: [B1, empty], bucketDifferences: [] });
  });

  it('reads the buckets with their checksums, without $local', () => {
    const db = new Database(file);
    db.exec(`DELETE FROM ps_buckets; INSERT INTO ps_buckets(id, name, last_op, add_checksum, op_checksum) VALUES
      (1, 'b1', 20, 0, 5), (2, 'b2', 20, 1, 2), (3, '$local', 0, 0, 0), (4, 'b4', 3, 4294967295, 1)`);
    db.close();
    const reader = new ClientDatabase(file);
    expect(reader.buckets()).toEqual([
      { bucket: 'b1', lastOp: '20', checksum: 5 },
      { bucket: 'b2', lastOp: '20', checksum: 3 },
      { bucket: 'b4', lastOp: '3', checksum: 0 }
    ]);
    reader.close();
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
