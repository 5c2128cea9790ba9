import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase } from '@powersync/node';
import { demoClientSchema } from '@syncscope/demo/client/demo-client-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-inspect-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runCliCaptured(args, { env: { SYNCSCOPE_HOME: dir } });

const sha = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('syncscope inspect', () => {
  it("reads a real client database's upload queue without changing the file", async () => {
    const db = new PowerSyncDatabase({
      schema: demoClientSchema,
      database: { dbFilename: 'app.db', dbLocation: dir }
    });
    await db.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
      'r-1',
      'w-1',
      'first'
    ]);
    await db.execute('UPDATE records SET title = ? WHERE id = ?', ['second', 'r-1']);
    await db.close();
    const file = path.join(dir, 'app.db');
    const before = await sha(file);
    const { code, stdout } = await cli(['inspect', '--file', file, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.queue.operations).toBe(2);
    expect(report.queue.head).toMatchObject({ op: 'PUT', table: 'records', rowId: 'r-1' });
    expect(report.queue.transactions.map((t: { operations: unknown[] }) => t.operations.length)).toEqual([
      1, 1
    ]);
    expect(await sha(file)).toBe(before);
    const human = await cli(['inspect', '--file', file]);
    expect(human.stdout).toMatch(/2 pending upload operations in 2 transactions/);
    expect(human.stdout).toMatch(/Head of the queue .*: PUT records\/r-1/);
  });

  it('says when a file is not SQLite', async () => {
    const file = path.join(dir, 'notes.txt');
    await writeFile(file, 'hello');
    const { code, stderr } = await cli(['inspect', '--file', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^SYNCSCOPE_E_INSPECT_NOT_SQLITE: The file is not a SQLite database/);
  });
});
