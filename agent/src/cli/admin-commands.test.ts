import { checkCredentials } from '@syncscope/core/console-users/console-users';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { targetOfIngestKey } from '@syncscope/core/upload-errors/ingest-keys';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

let url: string;
let pool: pg.Pool;
beforeAll(async () => {
  url = await createTestDatabase('cli_admin');
  pool = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(() => pool.end());

const cli = (args: string[], stdin?: string) =>
  runCliCaptured(args, { env: { SYNCSCOPE_OPS_DATABASE_URL: url, USER: 'tester' }, stdin });

describe('syncscope users and ingest-keys', () => {
  it('adds the first admin with a password from stdin, or generates one and prints it once', async () => {
    const piped = await cli(
      ['users', 'add', '--email', 'Root@Example.com', '--role', 'admin'],
      'a long typed password\n'
    );
    expect(piped).toMatchObject({ code: 0, stdout: 'Added root@example.com (admin).\n' });
    expect(await checkCredentials(pool, 'root@example.com', 'a long typed password')).toMatchObject({
      role: 'admin'
    });

    const generated = await cli(['users', 'add', '--email', 'ops@example.com', '--role', 'operator']);
    const password = /Password \(shown once, store it now\): (\S+)/.exec(generated.stdout)?.[1];
    expect(password).toMatch(/^\w{20}$/);
    expect(await checkCredentials(pool, 'ops@example.com', password!)).toMatchObject({ role: 'operator' });

    const again = await cli(['users', 'add', '--email', 'ops@example.com', '--role', 'viewer']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/SYNCSCOPE_E_USER_INVALID: A console user ops@example.com already exists/);
    const badRole = await cli(['users', 'add', '--email', 'x@example.com', '--role', 'superuser']);
    expect(badRole.stderr).toMatch(/Role "superuser" does not exist: use viewer, operator, admin/);

    expect((await cli(['users', 'set-role', '--email', 'ops@example.com', '--role', 'viewer'])).code).toBe(0);
    expect((await cli(['users', 'list'])).stdout).toBe('ops@example.com\tviewer\nroot@example.com\tadmin\n');
    const audit = await pool.query(
      "SELECT actor, action, subject_user, details FROM syncscope.audit_log WHERE action LIKE 'user.%' ORDER BY id"
    );
    expect(audit.rows.map((r) => `${r.actor} ${r.action} ${r.subject_user}`)).toEqual([
      'cli:tester user.added root@example.com',
      'cli:tester user.added ops@example.com',
      'cli:tester user.role_changed ops@example.com'
    ]);
    expect(audit.rows[2].details).toEqual({ from: 'operator', to: 'viewer' });
  });

  it('creates ingest keys printed once, lists them without the key, and revokes them', async () => {
    const added = await cli(['ingest-keys', 'add', '--target', 'demo', '--label', 'billing backend']);
    const key = /Key \(shown once.*\): (ssk_\S+)/.exec(added.stdout)?.[1];
    const id = /Created ingest key (\S+)/.exec(added.stdout)?.[1];
    expect(await targetOfIngestKey(pool, key!)).toBe('demo');
    const listed = await cli(['ingest-keys', 'list']);
    expect(listed.stdout).toContain(`${id}\tdemo\tbilling backend`);
    expect(listed.stdout).not.toContain(key!.slice(4, 20));
    expect((await cli(['ingest-keys', 'revoke', '--id', id!])).stdout).toBe(`Revoked ${id}.\n`);
    expect(await targetOfIngestKey(pool, key!)).toBeNull();
    expect((await cli(['ingest-keys', 'revoke', '--id', 'nope'])).stderr).toMatch(/is not a key id/);
  });
});
