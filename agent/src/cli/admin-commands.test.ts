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
    expect(piped).toMatchObject({ code: 0, stdout: 'Added root@example.com (admin on all targets).\n' });
    expect(await checkCredentials(pool, 'root@example.com', 'a long typed password')).toMatchObject({
      grants: [{ target: null, role: 'admin' }]
    });

    const generated = await cli(['users', 'add', '--email', 'ops@example.com', '--role', 'operator']);
    const password = /Password \(shown once, store it now\): (\S+)/.exec(generated.stdout)?.[1];
    expect(password).toMatch(/^\w{20}$/);
    expect(await checkCredentials(pool, 'ops@example.com', password!)).toMatchObject({
      grants: [{ target: null, role: 'operator' }]
    });

    const again = await cli(['users', 'add', '--email', 'ops@example.com', '--role', 'viewer']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/SYNCSCOPE_E_USER_INVALID: A console user ops@example.com already exists/);
    const badRole = await cli(['users', 'add', '--email', 'x@example.com', '--role', 'superuser']);
    expect(badRole.stderr).toMatch(/Role "superuser" does not exist: use viewer, operator, admin/);

    expect((await cli(['users', 'set-role', '--email', 'ops@example.com', '--role', 'viewer'])).code).toBe(0);
    expect((await cli(['users', 'list'])).stdout).toBe(
      'ops@example.com\tviewer on all targets\nroot@example.com\tadmin on all targets\n'
    );
    const audit = await pool.query(
      "SELECT actor, action, subject_user, details FROM syncscope.audit_log WHERE action LIKE 'user.%' ORDER BY id"
    );
    expect(audit.rows.map((r) => `${r.actor} ${r.action} ${r.subject_user}`)).toEqual([
      'cli:tester user.added root@example.com',
      'cli:tester user.added ops@example.com',
      'cli:tester user.role_changed ops@example.com'
    ]);
    expect(audit.rows[2].details).toEqual({
      from: [{ target: null, role: 'operator' }],
      to: [{ target: null, role: 'viewer' }]
    });
  });

  it('grants and revokes roles per target, each audited, and asks which targets a grant is for', async () => {
    const add = ['users', 'add', '--email', 'stg@example.com', '--role', 'viewer', '--target', 'staging'];
    expect((await cli(add, 'a long typed password\n')).stdout).toBe(
      'Added stg@example.com (viewer on staging).\n'
    );
    const grant = await cli([
      'users',
      'grant',
      '--email',
      'stg@example.com',
      '--role',
      'operator',
      '--target',
      'qa'
    ]);
    expect(grant).toMatchObject({ code: 0, stdout: 'stg@example.com is now operator on qa.\n' });
    const all = await cli([
      'users',
      'grant',
      '--email',
      'stg@example.com',
      '--role',
      'viewer',
      '--all-targets'
    ]);
    expect(all.stdout).toBe('stg@example.com is now viewer on all targets.\n');
    expect((await cli(['users', 'list'])).stdout).toContain(
      'stg@example.com\tviewer on all targets, operator on qa, viewer on staging\n'
    );
    const unscoped = await cli(['users', 'grant', '--email', 'stg@example.com', '--role', 'admin']);
    expect(unscoped).toMatchObject({ code: 2 });
    expect(unscoped.stderr).toMatch(/--target NAME, or --all-targets/);
    const wrongRole = await cli([
      'users',
      'revoke',
      '--email',
      'stg@example.com',
      '--role',
      'admin',
      '--target',
      'qa'
    ]);
    expect(wrongRole.stderr).toMatch(/has no admin grant on target "qa"/);
    const revoke = await cli([
      'users',
      'revoke',
      '--email',
      'stg@example.com',
      '--role',
      'operator',
      '--target',
      'qa'
    ]);
    expect(revoke.stdout).toBe('Revoked operator on qa from stg@example.com.\n');
    const audit = await pool.query(
      "SELECT action, target FROM syncscope.audit_log WHERE subject_user = 'stg@example.com' ORDER BY id"
    );
    expect(audit.rows.map((r) => `${r.action} ${r.target}`)).toEqual([
      'user.added staging',
      'user.role_granted qa',
      'user.role_granted null',
      'user.role_revoked qa'
    ]);
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
