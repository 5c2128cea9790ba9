import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SyncedRow } from '../probe-types.ts';
import {
  type ExpectedRowStore,
  MemoryExpectedRows,
  SpilledExpectedRows,
  spillDirectory,
  sweepStaleSpillDirectories
} from './expected-rows.ts';

const row = (table: string, id: string, json: string, bucket: string): SyncedRow => ({
  table,
  id,
  json,
  checksum: json.length,
  buckets: [bucket]
});

describe.each([
  ['in memory', () => new MemoryExpectedRows()],
  ['spilled to SQLite', () => SpilledExpectedRows.create()]
] as [string, () => ExpectedRowStore][])('expected rows %s', (_name, create) => {
  it('keeps one row per key with every bucket, the first JSON, and names the later copies', () => {
    const store = create();
    store.add(row('records', 'r2', '{"v":1}', 'b1'), 0);
    store.add(row('records', 'r1', '{"v":1}', 'b1'), 0);
    store.add(row('records', 'r2', '{"v":1}', 'b2'), 1); // the same row in another bucket
    store.flush();
    store.add(row('records', 'r2', '{"v":2}', 'b3'), 2); // another query, other data
    store.add(row('categories', 'r1', '{"c":1}', 'b1'), 1); // same id, other table: another row
    const conflicts = store.finish();
    expect(store.size).toBe(3);
    expect(conflicts).toEqual([
      {
        stored: { table: 'records', id: 'r2', json: '{"v":1}', checksum: 7, buckets: ['b1', 'b2', 'b3'] },
        jsonDiffers: true,
        laterTags: [1, 2]
      }
    ]);
    expect(store.get('records/r2')?.buckets).toEqual(['b1', 'b2', 'b3']);
    expect(store.get('records/none')).toBeUndefined();
    expect([...store.values()].map((r) => `${r.table}/${r.id}`)).toEqual([
      'categories/r1',
      'records/r1',
      'records/r2'
    ]);
    store.close();
  });

  it('holds bucket names with quotes and commas intact', () => {
    const store = create();
    const bucket = '1#by_pair["a,b","c\\"d"]';
    store.add(row('t', '1', '{}', bucket));
    store.add(row('t', '2', '{}', '1#x["1"]'));
    store.add(row('t', '2', '{}', bucket));
    store.finish();
    const rows = [...store.values()];
    expect(rows.map((r) => r.buckets)).toEqual([[bucket], ['1#x["1"]', bucket]]);
    store.close();
  });
});

describe('expected rows spilled to a file', () => {
  it('hands a finished store over to another owner, and deletes the file when that one closes', () => {
    const store = SpilledExpectedRows.create();
    store.add(row('t', '1', '{}', 'b1'));
    store.add(row('t', '1', '{}', 'b2'));
    expect(store.detach()).toBe(1);
    expect(existsSync(store.file)).toBe(true);
    const adopted = SpilledExpectedRows.adopt(store.file, 1);
    expect(adopted.size).toBe(1);
    expect([...adopted.values()]).toMatchObject([{ table: 't', id: '1', buckets: ['b1', 'b2'] }]);
    adopted.close();
    expect(existsSync(store.file)).toBe(false);
  });
});

describe('spill files', () => {
  it("live in this process's folder, readable by its user only", () => {
    const store = SpilledExpectedRows.create();
    expect(path.dirname(store.file)).toBe(spillDirectory());
    expect(statSync(spillDirectory()).mode & 0o777).toBe(0o700);
    store.close();
  });

  it('left by a process that died are swept; a living process keeps its own', () => {
    // Beyond Linux's largest pid: no such process.
    const dead = path.join(os.tmpdir(), 'syncscope-expected-99999999-test');
    mkdirSync(dead, { recursive: true });
    writeFileSync(path.join(dead, 'rows.db'), 'user rows');
    expect(sweepStaleSpillDirectories()).toContain('syncscope-expected-99999999-test');
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(spillDirectory())).toBe(true);
  });
});
