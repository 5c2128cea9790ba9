import { appendAudit, migrateOpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

let url: string;
let pool: pg.Pool;
beforeAll(async () => {
  url = await createTestDatabase('cli_audit_verify');
  await migrateOpsDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
  for (const n of [1, 2, 3])
    await appendAudit(pool, { actor: 'cli:ana', action: 'user.added', subjectUser: `u${n}` });
});
afterAll(() => pool.end());

const cli = (args: string[]) =>
  runCliCaptured(['audit', 'verify', ...args], { env: { SYNCSCOPE_OPS_DATABASE_URL: url } });

describe('syncscope audit verify', () => {
  let head: string;

  it('exits 0 with the entry count and the head hash for an intact chain', async () => {
    const result = await cli([]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    head = /head ([0-9a-f]{64}) \(entry 3\)/.exec(result.stdout)?.[1] ?? '';
    expect(result.stdout).toMatch(/^Audit log intact: 3 entries, head [0-9a-f]{64} \(entry 3\)/);
    expect(JSON.parse((await cli(['--json', '--expect-head', head])).stdout)).toEqual({
      intact: true,
      entries: 3,
      head: { seq: '3', hash: head }
    });
  });

  it('refuses a head that is not 64 hex digits', async () => {
    const result = await cli(['--expect-head', 'abc']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^SYNCSCOPE_E_REQUEST_INVALID: --expect-head takes the 64 hex digits/);
  });

  it('exits 1 naming the first entry a superuser edited, and an expected head no longer in the chain', async () => {
    const { rows } = await pool.query<{ id: string }>(
      'SELECT id::text FROM syncscope.audit_log WHERE seq = 2'
    );
    await execSql(
      url,
      "SET session_replication_role = replica; UPDATE syncscope.audit_log SET subject_user = 'someone else' WHERE seq = 2"
    );
    const result = await cli([]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      new RegExp(
        `^Audit log tampered with \\(hash-mismatch\\) at entry id ${rows[0]!.id} \\(chain place 2, at .*Z\\): its content does not give its hash: it was edited\\. 1 entries before it are intact\\.`
      )
    );
    expect(JSON.parse((await cli(['--json'])).stdout)).toMatchObject({
      intact: false,
      entry: { id: rows[0]!.id }
    });
  });
});
