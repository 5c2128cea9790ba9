import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applySourceRole } from '@syncscope/core/source-access/apply-source-role';
import { sourceAccessOf, userSearchAccess } from '@syncscope/core/source-access/source-access';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { applyDemoSchema } from '@syncscope/demo/schema/index';
import { DEMO_USERS, seedDemoData } from '@syncscope/demo/seed/index';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

const DEMO_RULES_FILE = new URL('../../../powersync/sync_rules.yaml', import.meta.url);
const TYPED_RULES = `bucket_definitions:
  by_number:
    parameters: SELECT request.jwt() ->> 'ws_no' AS workspace_id
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
`;
const ORPHANS = ['0-orphan-1', '0-orphan-2', '0-orphan-3'];

let dir: string;
let adminUrl: string;
let readerUrl: string;

/** Records in a workspace no known user is a member of, counted independently of the rules code. */
async function recordsWithoutMember(): Promise<number> {
  const { rows } = await execSql(
    adminUrl,
    `SELECT count(*)::int AS n FROM records r WHERE NOT EXISTS (
       SELECT 1 FROM workspace_memberships m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = r.workspace_id)`
  );
  return rows[0].n;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-rules-cli-'));
  adminUrl = await createTestDatabase('cli_rules_insight');
  const pool = new pg.Pool({ connectionString: adminUrl });
  try {
    await applyDemoSchema(pool);
    await seedDemoData(pool, { records: 300 });
  } finally {
    await pool.end();
  }
  const demoRules = await readFile(DEMO_RULES_FILE, 'utf8');
  await writeFile(path.join(dir, 'sync_rules.yaml'), demoRules);
  await writeFile(path.join(dir, 'typed.yaml'), TYPED_RULES);
  // The least-privilege role `syncscope source-role` makes: SELECT on the rules' columns only.
  const userSearch = userSearchAccess({ table: 'users', id_column: 'id', email_column: 'email' });
  await execSql(adminUrl, 'DROP ROLE IF EXISTS cli_rules_reader');
  await applySourceRole(adminUrl, {
    role: 'cli_rules_reader',
    password: 'reader-pw',
    access: sourceAccessOf(loadSyncRules(demoRules), userSearch)
  });
  const u = new URL(adminUrl);
  u.username = 'cli_rules_reader';
  u.password = 'reader-pw';
  readerUrl = u.toString();
  const target = (rules: string, extra = '') => `
    sync_url: http://127.0.0.1:1
    source_url: !env DEMO_SOURCE_URL
    sync_rules: { path: ${rules} }
    signing_key: { kid: probe-1, hs256_secret: !env DEMO_HS }
    audience: syncscope-probe
    user_search: { table: users, id_column: id, email_column: email }${extra}`;
  await writeFile(
    path.join(dir, 'targets.yaml'),
    `targets:\n  demo:${target('sync_rules.yaml', '\n    rules_insight: { sample_size: 3 }')}\n  typed:${target('typed.yaml', '\n    extra_claims: { ws_no: 3 }')}\n  tight:${target('sync_rules.yaml', '\n    rules_insight: { bucket_limit: 2, bucket_thresholds: [1] }')}\n`
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (args: string[]) =>
  runCliCaptured([...args, '--targets', path.join(dir, 'targets.yaml')], {
    env: {
      SYNCSCOPE_HOME: dir,
      DEMO_SOURCE_URL: readerUrl,
      DEMO_HS: 'x'.repeat(64),
      SYNCSCOPE_LOG_LEVEL: 'silent'
    }
  });

describe('syncscope rules coverage on the demo', () => {
  it('says 3 records are in no bucket once their workspace has no member, naming the rule and the parameter', async () => {
    const before = await recordsWithoutMember();
    await execSql(
      adminUrl,
      `INSERT INTO workspaces VALUES ('ws-nobody', 'Nobody''s');
       INSERT INTO records (id, workspace_id, title) VALUES ${ORPHANS.map((id) => `('${id}', 'ws-nobody', 'orphan')`).join(', ')}`
    );
    const json = await cli(['rules', 'coverage', '--target', 'demo', '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    const records = report.tables.find((t: { table: string }) => t.table === 'public.records');
    expect(records.rowsInNoBucket).toBe(before + 3);
    expect(records.samples).toEqual(
      ORPHANS.map((id) => ({
        id,
        reason:
          'by_workspace (line 6) puts it in a bucket no user holds: no user\'s parameter query gives workspace_id = "ws-nobody"'
      }))
    );
    // carol is a member of nothing (demo/src/seed): the "connected, but no data" user.
    expect(report.usersWithoutBuckets.sampleUserIds).toContain(DEMO_USERS.carol.id);

    const text = await cli(['rules', 'coverage', '--target', 'demo']);
    expect(text.code).toBe(1);
    expect(text.stdout.split(' (')[0]).toBe(
      `${before + 3} rows are in no bucket a user holds; 1 user gets no bucket`
    );
    expect(text.stdout).toContain(`public.records: ${before + 3} of `);
    expect(text.stdout).toContain(
      `  by_workspace (line 6): ${before + 3} in a bucket no user holds (workspace_id)\n  0-orphan-1: by_workspace (line 6) puts it in a bucket no user holds`
    );
    expect(text.stdout).not.toContain('reader-pw');
  });
});

describe('syncscope rules lint on the demo', () => {
  it('reports an unindexed filter column with its CREATE INDEX fix, and not once the index is back', async () => {
    const clean = await cli(['rules', 'lint', '--target', 'demo']);
    expect(clean).toMatchObject({ code: 0, stderr: '', stdout: 'No findings.\n' });
    await execSql(adminUrl, 'DROP INDEX records_workspace');
    try {
      const r = await cli(['rules', 'lint', '--target', 'demo']);
      expect(r.code).toBe(0); // a warning is not an error
      expect(r.stdout).toContain(
        'warning sync_rules.yaml:6 unindexed-filter: public.records.workspace_id is compared with bucket.workspace_id'
      );
      expect(r.stdout).toContain(
        'fix: CREATE INDEX CONCURRENTLY "records_workspace_id_idx" ON "public"."records" ("workspace_id");'
      );
    } finally {
      await execSql(adminUrl, 'CREATE INDEX records_workspace ON records (workspace_id)');
    }
    expect((await cli(['rules', 'lint', '--target', 'demo'])).stdout).toBe('No findings.\n');
  });

  it('exits 1 on an error: a text column compared with an integer claim, at its line', async () => {
    const r = await cli(['rules', 'lint', '--target', 'typed', '--json']);
    expect(r.code).toBe(1);
    const { findings } = JSON.parse(r.stdout);
    expect(findings[0]).toMatchObject({ rule: 'type-mismatch', severity: 'error', line: 5 });
    expect(findings[0].message).toContain(
      'records.workspace_id (text) is compared with bucket.workspace_id, which is the claim ws_no (a number in extra_claims)'
    );
  });

  it('an unknown target could not run: exit 2 with the code', async () => {
    const r = await cli(['rules', 'lint', '--target', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^SYNCSCOPE_E_\w+: .*nope/);
  });
});

describe('syncscope rules budgets on the demo', () => {
  it("counts each user's workspaces as buckets, lists the users over the thresholds and exits 1 over the limit", async () => {
    // Each known user's buckets, counted without SyncScope's code: their distinct workspaces.
    const { rows } = await execSql(
      adminUrl,
      `SELECT u.id, count(DISTINCT m.workspace_id)::int AS n FROM users u
       LEFT JOIN workspace_memberships m ON m.user_id = u.id GROUP BY u.id ORDER BY n DESC, u.id`
    );
    const over = (t: number) => rows.filter((r) => r.n > t);
    expect(over(2).length).toBeGreaterThan(0); // the demo seed has users in 3 or more workspaces
    const r = await cli(['rules', 'budgets', '--target', 'tight', '--json']);
    expect(r).toMatchObject({ code: 1, stderr: '' });
    const { report, trends } = JSON.parse(r.stdout);
    expect(trends).toBeUndefined(); // no ops database named
    expect(report.users).toBe(rows.length);
    expect(report.buckets.max).toBe(rows[0].n);
    expect(report.over).toEqual([
      { threshold: 1, users: over(1).length },
      { threshold: 2, users: over(2).length }
    ]);
    expect(report.listed.map((u: { user: string; buckets: number }) => [u.user, u.buckets])).toEqual(
      over(1)
        .slice(0, 20)
        .map((u) => [u.id, u.n])
    );
    expect(report.listed[0].parts).toEqual([
      { definition: 'by_workspace', line: 4, buckets: rows[0].n, results: rows[0].n }
    ]);
    const text = await cli(['rules', 'budgets', '--target', 'tight']);
    expect(text.stdout).toContain(
      `over 1: ${over(1).length} users; over 2: ${over(2).length} users (refused: PSYNC_S2305)`
    );
    expect(text.stdout).toContain(
      `  ${rows[0].id}: ${rows[0].n} buckets (${rows[0].n} parameter rows), most from by_workspace at sync_rules.yaml:4 (${rows[0].n})`
    );
    expect((await cli(['rules', 'budgets', '--target', 'demo'])).code).toBe(0);
  });
});
