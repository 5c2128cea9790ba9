import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readReference } from '@syncscope/core/testing/reference';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

const RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT id, title, workspace_id FROM records WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM categories WHERE workspace_id = bucket.workspace_id
`;

let dir: string;
let adminUrl: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-source-role-'));
  adminUrl = await createTestDatabase('cli_source_role');
  await execSql(adminUrl, readReference('seed.sql'));
  await execSql(
    adminUrl,
    "CREATE TABLE secrets (id text PRIMARY KEY, value text); INSERT INTO secrets VALUES ('s1', 'hunter2')"
  );
  await execSql(adminUrl, 'DROP ROLE IF EXISTS cli_reader; DROP ROLE IF EXISTS cli_broad');
  await writeFile(path.join(dir, 'rules.yaml'), RULES);
  await writeFile(
    path.join(dir, 'targets.yaml'),
    `targets:
  prod:
    sync_url: http://127.0.0.1:1
    source_url: !env PROD_SOURCE_URL
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env PROD_HS }
    audience: syncscope-probe
    user_search: { table: users, id_column: id, email_column: email }
`
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function withRole(role: string, password: string): string {
  const u = new URL(adminUrl);
  u.username = role;
  u.password = password;
  return u.toString();
}

const cli = (args: string[], sourceUrl: string) =>
  runCliCaptured([...args, '--targets', path.join(dir, 'targets.yaml')], {
    env: {
      SYNCSCOPE_HOME: dir,
      PROD_SOURCE_URL: sourceUrl,
      PROD_HS: 'x'.repeat(64),
      SYNCSCOPE_LOG_LEVEL: 'silent'
    }
  });

/** Runs the printed script as psql would, with the password variable set (psql is not needed). */
async function runAsPsql(script: string, password: string): Promise<void> {
  const sql = script
    .split('\n')
    .filter((line) => !line.startsWith('\\'))
    .join('\n')
    .replaceAll(":'syncscope_source_password'", `'${password}'`);
  await execSql(adminUrl, sql);
}

describe('syncscope source-role', () => {
  it('prints the least-privilege SQL, never a password, and the role it makes reads only the rules’ data', async () => {
    const r = await cli(
      ['source-role', '--target', 'prod', '--role', 'cli_reader', '--password-env', 'READER_PW'],
      adminUrl
    );
    expect(r.stderr.slice(0, 600)).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\\set syncscope_source_password `printenv READER_PW`');
    expect(r.stdout).toContain(
      'GRANT SELECT ("ctid", "id", "title", "workspace_id") ON "public"."records" TO "cli_reader";'
    );
    expect(r.stdout).toContain('GRANT SELECT ON "public"."categories" TO "cli_reader";');
    expect(r.stdout).toContain('GRANT SELECT ("email", "id") ON "public"."users" TO "cli_reader";');
    expect(r.stdout).toContain(`ALTER ROLE "cli_reader" SET statement_timeout = '60s';`);
    expect(r.stdout).not.toContain('secrets');
    expect(r.stdout).not.toContain(new URL(adminUrl).password);

    await runAsPsql(r.stdout, 'reader-pw');
    const reader = withRole('cli_reader', 'reader-pw');
    await expect(execSql(reader, 'SELECT value FROM secrets')).rejects.toThrow(/permission denied/);
    await expect(execSql(reader, 'SELECT amount FROM records')).rejects.toThrow(/permission denied/);
    expect((await execSql(reader, "SELECT title FROM records WHERE id = 'rec-1'")).rows).toEqual([
      { title: 'Record 1' }
    ]);

    // explain works as that role, and shows only what the rules read.
    const explained = await cli(
      ['explain', '--target', 'prod', '--table', 'records', '--id', 'rec-1', '--json'],
      reader
    );
    expect(explained.code).toBe(0);
    expect(JSON.parse(explained.stdout).row).toEqual({
      id: 'rec-1',
      title: 'Record 1',
      workspace_id: 'ws-1'
    });
    const refused = await cli(
      ['explain', '--target', 'prod', '--table', 'pg_catalog.pg_authid', '--id', '10'],
      adminUrl
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^SYNCSCOPE_E_TABLE_NOT_IN_RULES: The sync rules do not read table "pg_catalog.pg_authid"/
    );

    // probe names no over-privilege for it (the probe itself then fails: no sync service here).
    const probe = await cli(
      ['probe', '--target', 'prod', '--user', 'u-alice', '--deadline', '2', '--reason', 'role check'],
      reader
    );
    expect(probe.stderr).not.toContain('warning:');
  });

  it('--apply-url-env applies the same role with an admin URL (no psql), printing neither password nor URL', async () => {
    const r = await runCliCaptured(
      [
        'source-role',
        '--target',
        'prod',
        '--role',
        'cli_applied',
        '--password-env',
        'APPLIED_PW',
        '--apply-url-env',
        'ADMIN_URL',
        '--targets',
        path.join(dir, 'targets.yaml')
      ],
      {
        env: {
          SYNCSCOPE_HOME: dir,
          PROD_SOURCE_URL: adminUrl,
          PROD_HS: 'x'.repeat(64),
          ADMIN_URL: adminUrl,
          APPLIED_PW: 'applied-password-1'
        }
      }
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Role cli_applied: read-only, SELECT on ');
    expect(r.stdout).toContain('public.records (ctid, id, title, workspace_id)');
    expect(r.stdout + r.stderr).not.toContain('applied-password-1');
    expect(r.stdout + r.stderr).not.toContain(new URL(adminUrl).password);
    const applied = withRole('cli_applied', 'applied-password-1');
    await expect(execSql(applied, 'SELECT value FROM secrets')).rejects.toThrow(/permission denied/);
    expect((await execSql(applied, "SELECT email FROM users WHERE id = 'u-bob'")).rows).toEqual([
      { email: 'bob@example.com' }
    ]);

    const badName = await cli(
      ['source-role', '--target', 'prod', '--role', 'Robert"; DROP TABLE x; --'],
      adminUrl
    );
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/^SYNCSCOPE_E_SOURCE_ROLE_UNSUPPORTED: /);

    const unset = await cli(
      ['source-role', '--target', 'prod', '--password-env', 'NOPE_PW', '--apply-url-env', 'ADMIN_URL'],
      adminUrl
    );
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(
      /^SYNCSCOPE_E_REQUEST_INVALID: --apply-url-env ADMIN_URL: that environment variable is unset/
    );
  });

  it('probe warns, naming the role and the fix, when the role can write or read beyond the rules', async () => {
    const admin = await cli(
      ['probe', '--target', 'prod', '--user', 'u-alice', '--deadline', '2', '--reason', 'role check'],
      adminUrl
    );
    const user = new URL(adminUrl).username;
    expect(admin.stderr).toContain(
      `warning: target "prod": the source_url role can write (role "${user}" is a superuser: it can write every table) and can read beyond the sync rules' tables (role "${user}" is a superuser: it can read every table).`
    );
    expect(admin.stderr).toContain('`syncscope source-role --target prod`');

    await execSql(
      adminUrl,
      "CREATE ROLE cli_broad LOGIN PASSWORD 'broad'; GRANT pg_read_all_data TO cli_broad"
    );
    const broad = await cli(
      ['probe', '--target', 'prod', '--user', 'u-alice', '--deadline', '2', '--reason', 'role check'],
      withRole('cli_broad', 'broad')
    );
    expect(broad.stderr).toContain(
      `warning: target "prod": the source_url role can read beyond the sync rules' tables (role "cli_broad" is a member of pg_read_all_data: it can read every table; role "cli_broad" can read public.records columns amount, category_id, created_at, which the rules do not read; role "cli_broad" can read public.secrets, which the rules do not read; and 2 more).`
    );
    expect(broad.stderr).not.toContain('can write');
  });
});
