import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opsRolePasswordFile } from '../../ops-db/ops-role-names.ts';
import { loadSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { createTestDatabase } from '../../testing/test-database.ts';
import {
  DEMO_TARGET,
  demoStackFiles,
  ensureReadOnlyProbeRole,
  fillDemoTargetEnv,
  opsDatabaseUrl,
  writeDemoTargetsFile
} from './demo-target.ts';
import { loadTarget } from './load-targets.ts';

/** The demo app's schema (demo/src/schema), which the demo rules read. */
function demoSchemaSql(): string {
  return readFileSync(
    fileURLToPath(new URL('../../../../demo/src/schema/demo-schema.sql', import.meta.url)),
    'utf8'
  );
}

const RULES_PATH = fileURLToPath(new URL('../../../../powersync/sync_rules.yaml', import.meta.url));

describe('the demo target', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-demo-home-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('npm start writes a targets.yaml without secrets that loads once the CLI fills its variables', async () => {
    const file = await writeDemoTargetsFile({
      home,
      syncUrl: 'http://127.0.0.1:7001',
      uploadUrl: 'http://127.0.0.1:8000/api/upload',
      syncRulesPath: RULES_PATH,
      canaries: { users: ['u-canary'] }
    });
    expect(file).toBe(path.join(home, 'targets.yaml'));
    const text = await readFile(file, 'utf8');
    expect(text).toContain('admin_token: !env SYNCSCOPE_DEMO_API_TOKEN');
    expect(text).toContain('source_url: !env SYNCSCOPE_DEMO_SOURCE_URL');
    expect(text).toContain('private_jwk: !env SYNCSCOPE_DEMO_PROBE_JWK');

    // Before the stack's files exist the variables stay unset, and the loader names them.
    const bare: NodeJS.ProcessEnv = { SYNCSCOPE_HOME: home };
    const before = await fillDemoTargetEnv(bare);
    expect(before.missingFiles).toEqual([demoStackFiles(home).probeJwk, demoStackFiles(home).apiToken]);
    await expect(loadTarget(file, 'demo', bare)).rejects.toThrow(
      'targets.demo.admin_token: environment variable SYNCSCOPE_DEMO_API_TOKEN (from !env) is not set'
    );

    const files = demoStackFiles(home);
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    await mkdir(path.dirname(files.probeJwk), { recursive: true });
    await mkdir(path.dirname(files.apiToken), { recursive: true });
    await writeFile(files.probeJwk, JSON.stringify(await exportJWK(privateKey)));
    await writeFile(files.apiToken, 'stack-api-token-0123456789\n');
    await writeFile(files.probeDbPassword, 'probe-role-password\n');

    const env: NodeJS.ProcessEnv = { SYNCSCOPE_HOME: home, SYNCSCOPE_PG_PORT: '6543' };
    const filled = await fillDemoTargetEnv(env);
    expect(filled).toEqual({
      set: [
        DEMO_TARGET.env.probeJwk,
        DEMO_TARGET.env.apiToken,
        DEMO_TARGET.env.sourceUrl,
        'SYNCSCOPE_OPS_DATABASE_URL'
      ],
      missingFiles: []
    });
    expect(env.SYNCSCOPE_OPS_DATABASE_URL).toMatch(/@127\.0\.0\.1:6543\/syncscope$/);
    expect(env[DEMO_TARGET.env.sourceUrl]).toBe(
      'postgres://syncscope_probe:probe-role-password@127.0.0.1:6543/app'
    );
    const target = await loadTarget(file, 'demo', env);
    expect(target).toMatchObject({
      name: 'demo',
      syncUrl: 'http://127.0.0.1:7001',
      adminUrl: 'http://127.0.0.1:7001',
      adminToken: 'stack-api-token-0123456789',
      syncRulesFile: path.relative(home, RULES_PATH),
      audience: 'syncscope-probe',
      uploadUrl: 'http://127.0.0.1:8000/api/upload',
      signing: { kind: 'private-jwk', kid: 'syncscope-probe-1', alg: 'RS256' },
      // Without a write probe there is no write path for freshness markers: canaries only.
      canaries: { users: [{ userId: 'u-canary', subscriptions: [] }], settleMs: 10_000, reconcileMs: 300_000 }
    });
    expect(target.canaries?.freshnessEveryMs).toBeUndefined();

    // Variables already set win; SYNCSCOPE_API_TOKEN (which the stack itself uses) beats the file.
    const own: NodeJS.ProcessEnv = {
      SYNCSCOPE_HOME: home,
      SYNCSCOPE_API_TOKEN: 'from-env-token-0123456789',
      [DEMO_TARGET.env.sourceUrl]: 'postgres://me@elsewhere/app'
    };
    expect((await fillDemoTargetEnv(own)).set).toEqual([
      DEMO_TARGET.env.probeJwk,
      DEMO_TARGET.env.apiToken,
      'SYNCSCOPE_OPS_DATABASE_URL'
    ]);
    expect(own[DEMO_TARGET.env.apiToken]).toBe('from-env-token-0123456789');
    expect(own[DEMO_TARGET.env.sourceUrl]).toBe('postgres://me@elsewhere/app');

    // Without the role's password file (a stack from before the role existed): the superuser.
    await rm(files.probeDbPassword);
    const old: NodeJS.ProcessEnv = { SYNCSCOPE_HOME: home, SYNCSCOPE_PG_PASSWORD: 'pw' };
    await fillDemoTargetEnv(old);
    expect(old[DEMO_TARGET.env.sourceUrl]).toBe('postgres://postgres:pw@127.0.0.1:5433/app');
  });

  it("npm start's demo target light-probes every demo user once per period; tests' stacks schedule nothing", async () => {
    const env: NodeJS.ProcessEnv = {
      SYNCSCOPE_HOME: home,
      [DEMO_TARGET.env.apiToken]: 'stack-api-token-0123456789',
      [DEMO_TARGET.env.sourceUrl]: 'postgres://me@localhost/app',
      [DEMO_TARGET.env.probeJwk]: JSON.stringify(
        await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)
      )
    };
    const input = {
      home,
      syncUrl: 'http://127.0.0.1:7001',
      uploadUrl: 'http://127.0.0.1:8000/api/upload',
      syncRulesPath: RULES_PATH
    };
    const swept = await loadTarget(
      await writeDemoTargetsFile({ ...input, sweepPeriodSeconds: 600 }),
      'demo',
      env
    );
    expect(swept.schedule).toMatchObject({
      users: [],
      sweepPeriodSeconds: 600,
      usersQuery: 'SELECT id AS user_id FROM public.users',
      mode: 'light'
    });
    const plain = await loadTarget(await writeDemoTargetsFile(input), 'demo', env);
    expect(plain.schedule).toBeUndefined();
  });

  it("reaches the stack's ops database as its agent role once npm start made it, never as the superuser", async () => {
    const opsHome = await mkdtemp(path.join(os.tmpdir(), 'syncscope-ops-home-'));
    try {
      const env = { SYNCSCOPE_HOME: opsHome, SYNCSCOPE_PG_PASSWORD: 'super' };
      expect(opsDatabaseUrl(env)).toBe('postgres://postgres:super@127.0.0.1:5433/syncscope');
      await mkdir(path.join(opsHome, 'secrets'), { recursive: true });
      await writeFile(opsRolePasswordFile(opsHome, 'agent'), 'agent pw/1\n');
      expect(opsDatabaseUrl(env)).toBe('postgres://syncscope_agent:agent%20pw%2F1@127.0.0.1:5433/syncscope');
    } finally {
      await rm(opsHome, { recursive: true, force: true });
    }
  });

  it('the probe role reads what the rules and user search read, no more, cannot write, and ensuring it twice is fine', async () => {
    const url = await createTestDatabase('probe_role');
    const role = 'syncscope_probe_test';
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`${demoSchemaSql()}
        INSERT INTO users VALUES ('u1', 'u1@example.com', 'Una');
        CREATE TABLE secrets (id text PRIMARY KEY, value text);
        DROP ROLE IF EXISTS ${role};
        CREATE ROLE ${role} LOGIN;
        GRANT pg_read_all_data TO ${role};`); // as an older SyncScope made it
    } finally {
      await admin.end();
    }
    const rules = loadSyncRules(await readFile(RULES_PATH, 'utf8'));
    await ensureReadOnlyProbeRole(url, 'first-password', rules, role);
    await ensureReadOnlyProbeRole(url, 'second-password', rules, role);
    const asRole = new URL(url);
    asRole.username = role;
    asRole.password = 'second-password';
    const probe = new pg.Client({ connectionString: asRole.toString() });
    await probe.connect();
    try {
      expect((await probe.query('SELECT id, email FROM users')).rows).toEqual([
        { id: 'u1', email: 'u1@example.com' }
      ]);
      await expect(probe.query('SELECT name FROM users')).rejects.toThrow(/permission denied/);
      await expect(probe.query('SELECT * FROM secrets')).rejects.toThrow(/permission denied/);
      await expect(probe.query("INSERT INTO users VALUES ('u2', 'x')")).rejects.toThrow(
        /read-only transaction|permission denied/
      );
      // Even an explicit read-write transaction has no write privilege.
      await probe.query('BEGIN READ WRITE');
      await expect(probe.query("UPDATE users SET email = 'x'")).rejects.toThrow(/permission denied/);
      await probe.query('ROLLBACK');
    } finally {
      await probe.end();
    }
  });
});
