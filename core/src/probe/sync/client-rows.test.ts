import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase, Schema } from '@powersync/node';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientRows } from './client-rows.ts';

/**
 * A database created by the real @powersync/node client (its own ps_buckets / ps_oplog tables and
 * indexes), with op-log rows written the way the client stores a sync's PUTs.
 */
describe('ClientRows: the client database read page by page', () => {
  let dir: string;
  let file: string;
  let client: PowerSyncDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-client-rows-'));
    client = new PowerSyncDatabase({
      schema: new Schema({}),
      database: { dbFilename: 'client.db', dbLocation: dir }
    });
    await client.init();
    file = path.join(dir, 'client.db');
    // The client keeps its connection open (WAL mode); a second connection writes the op log.
    const db = new Database(file);
    db.exec(`INSERT INTO ps_buckets(id, name, last_op, add_checksum, op_checksum) VALUES
      (1, 'b1', 20, 0, 5), (2, 'b2', 20, 1, 2), (3, '$local', 0, 0, 0)`);
    const put = db.prepare(
      'INSERT INTO ps_oplog(bucket, op_id, row_type, row_id, key, data, hash) VALUES (?, ?, ?, ?, ?, ?, ?)'
    );
    let op = 0;
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5']) {
      put.run(1, ++op, 'items', id, `items/${id}`, `{"id":"${id}"}`, op);
      // a3 is in both buckets: its two ops must stay together whatever the page size.
      if (id === 'a3') put.run(2, ++op, 'items', id, `items/${id}`, `{"id":"${id}"}`, op);
    }
    put.run(2, ++op, 'lists', 'l1', 'lists/l1', '{"id":"l1"}', 2 ** 32 - 1);
    db.close();
  });
  afterAll(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the buckets with their checksums, without $local', () => {
    const rows = new ClientRows(file);
    expect(rows.buckets()).toEqual([
      { bucket: 'b1', lastOp: '20', checksum: 5 },
      { bucket: 'b2', lastOp: '20', checksum: 3 }
    ]);
    rows.close();
  });

  for (const pageSize of [1, 2, 3, 4, 100]) {
    it(`hands each row over once, in key order, with all its buckets (pages of ${pageSize})`, async () => {
      const rows = new ClientRows(file);
      const pages: string[][] = [];
      const all = [];
      for await (const page of rows.pages(pageSize)) {
        pages.push(page.map((r) => r.id));
        all.push(...page);
      }
      rows.close();
      expect(all.map((r) => `${r.table}/${r.id}`)).toEqual([
        'items/a1',
        'items/a2',
        'items/a3',
        'items/a4',
        'items/a5',
        'lists/l1'
      ]);
      expect(all.find((r) => r.id === 'a3')).toMatchObject({ buckets: ['b1', 'b2'], json: '{"id":"a3"}' });
      expect(all.find((r) => r.id === 'l1')?.checksum).toBe(2 ** 32 - 1);
      // A page never holds more rows than asked for, even when it is finished with the last row's other ops.
      for (const page of pages) expect(page.length).toBeLessThanOrEqual(pageSize);
    });
  }

  it('reads one pass in one snapshot while the op log changes under it', async () => {
    const rows = new ClientRows(file);
    const writer = new Database(file);
    const seen: string[] = [];
    let first = true;
    for await (const page of rows.pages(2)) {
      seen.push(...page.map((r) => r.id));
      if (first) {
        first = false;
        writer.exec(`DELETE FROM ps_oplog WHERE row_id = 'a5'`);
        writer.exec(`INSERT INTO ps_oplog(bucket, op_id, row_type, row_id, key, data, hash)
          VALUES (1, 99, 'items', 'a9', 'items/a9', '{"id":"a9"}', 9)`);
      }
    }
    expect(seen).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'l1']);
    const next: string[] = [];
    for await (const page of rows.pages(2)) next.push(...page.map((r) => r.id));
    expect(next).toEqual(['a1', 'a2', 'a3', 'a4', 'a9', 'l1']);
    writer.close();
    rows.close();
  });
});
