import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runDryRun, validateDraft } from '@syncscope/core/rules-insight/dry-run/run-dry-run';
import { applySourceRole } from '@syncscope/core/source-access/apply-source-role';
import { sourceAccessOf, userSearchAccess } from '@syncscope/core/source-access/source-access';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { execSql } from '@syncscope/core/testing/test-database';
import { DEMO_USERS, seedDemoData } from '@syncscope/demo/seed/index';
import {
  type DevServerHarness,
  startDevServerHarness,
  TEST_API_TOKEN
} from '@syncscope/powersync/testing/dev-server-harness';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

const DEMO_RULES = await readFile(new URL('../../../powersync/sync_rules.yaml', import.meta.url), 'utf8');
const DEMO_SCHEMA = await readFile(
  new URL('../../../demo/src/schema/demo-schema.sql', import.meta.url),
  'utf8'
);

/** categories leave the workspace bucket for one per user: the categories the user owns. */
const PER_USER_CATEGORIES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
  my_categories:
    parameters: SELECT request.user_id() AS user_id
    data:
      - SELECT * FROM categories WHERE owner_id = bucket.user_id
`;
const WITH_STREAM = `config:
  edition: 2
${DEMO_RULES}streams:
  workspace_names:
    auto_subscribe: true
    query: SELECT * FROM workspaces WHERE id IN (SELECT workspace_id FROM workspace_memberships WHERE user_id = auth.user_id())
`;
const TYPE_MISMATCH = DEMO_RULES.replace(
  'categories WHERE workspace_id = bucket.workspace_id',
  'categories WHERE usage_count = bucket.workspace_id'
);
const UNKNOWN_COLUMN = DEMO_RULES.replace('SELECT * FROM records', 'SELECT id, no_such_column FROM records');
/** `SELECT *` reads every column, but its filter still names one that must exist. */
const UNKNOWN_FILTER_COLUMN = DEMO_RULES.replace(
  'SELECT * FROM categories WHERE workspace_id = bucket.workspace_id',
  'SELECT * FROM categories WHERE creator = bucket.workspace_id'
);
const lineOf = (yaml: string, text: string) => yaml.split('\n').findIndex((l) => l.includes(text)) + 1;

let harness: DevServerHarness;
let admin: pg.Pool;
let dir: string;
let readerUrl: string;

beforeAll(async () => {
  // The demo's schema, plus the column the per-user draft needs: each category's workspace owner.
  harness = await startDevServerHarness({
    name: 'rules_dry_run',
    sourceSql: `${DEMO_SCHEMA}\nALTER TABLE categories ADD COLUMN owner_id text;`,
    rulesYaml: DEMO_RULES
  });
  admin = new pg.Pool({ connectionString: harness.sourceUrl });
  await seedDemoData(admin, { records: 300 });
  await admin.query(
    `UPDATE categories c SET owner_id = m.user_id FROM workspace_memberships m
     WHERE m.workspace_id = c.workspace_id AND m.role = 'owner'`
  );
  await execSql(harness.sourceUrl, 'DROP ROLE IF EXISTS dryrun_reader');
  const userSearch = userSearchAccess({ table: 'users', id_column: 'id', email_column: 'email' });
  await applySourceRole(harness.sourceUrl, {
    role: 'dryrun_reader',
    password: 'reader-pw',
    access: sourceAccessOf(loadSyncRules(DEMO_RULES), userSearch)
  });
  const u = new URL(harness.sourceUrl);
  u.username = 'dryrun_reader';
  u.password = 'reader-pw';
  readerUrl = u.toString();
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-rules-diff-'));
  await writeFile(path.join(dir, 'sync_rules.yaml'), DEMO_RULES);
  for (const [name, yaml] of Object.entries({
    'per-user.yaml': PER_USER_CATEGORIES,
    'stream.yaml': WITH_STREAM,
    'mismatch.yaml': TYPE_MISMATCH,
    'same.yaml': DEMO_RULES
  }))
    await writeFile(path.join(dir, name), yaml);
  await writeFile(
    path.join(dir, 'targets.yaml'),
    `targets:
  demo:
    sync_url: ${harness.server.url}
    admin_url: ${harness.server.url}
    admin_token: !env DEMO_ADMIN_TOKEN
    source_url: !env DEMO_SOURCE_URL
    sync_rules: { path: sync_rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env DEMO_HS }
    audience: syncscope-probe
    user_search: { table: users, id_column: id, email_column: email }
`
  );
}, 120_000);
afterAll(async () => {
  await admin?.end();
  await harness?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const target = () => ({
  name: 'demo',
  sourceUrl: readerUrl,
  syncRulesYaml: DEMO_RULES,
  userSearch: userSearchAccess({ table: 'users', id_column: 'id', email_column: 'email' }),
  adminUrl: harness.server.url,
  adminToken: TEST_API_TOKEN
});

const cli = (args: string[]) =>
  runCliCaptured([...args, '--targets', path.join(dir, 'targets.yaml')], {
    env: {
      SYNCSCOPE_HOME: dir,
      DEMO_SOURCE_URL: readerUrl,
      DEMO_ADMIN_TOKEN: TEST_API_TOKEN,
      DEMO_HS: 'x'.repeat(64),
      SYNCSCOPE_LOG_LEVEL: 'silent'
    }
  });

/** A row's JSON bytes as the service sends it (columns in table order; these tables hold text and int). */
const bytesOf = (row: Record<string, unknown>) => Buffer.byteLength(JSON.stringify(row));
const sum = (rows: Record<string, unknown>[]) => rows.reduce((a, r) => a + bytesOf(r), 0);

async function rowsOf(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await admin.query(sql, params)).rows;
}

describe('a dry run of the demo rules with categories moved to a per-user bucket', () => {
  it('every user gains their own bucket; members drop the categories of workspaces they do not own', async () => {
    const report = await runDryRun(target(), PER_USER_CATEGORIES);
    expect(report.problems).toEqual([]);
    expect(report.service).toEqual({ checked: true, ok: true });
    const users = (await rowsOf('SELECT id FROM users ORDER BY id')).map((r) => r.id as string);
    const line = lineOf(PER_USER_CATEGORIES, 'my_categories:');
    const expected = [];
    for (const id of users) {
      const before = await rowsOf(
        `SELECT c.* FROM categories c WHERE c.workspace_id IN (SELECT workspace_id FROM workspace_memberships WHERE user_id = $1) ORDER BY c.id`,
        [id]
      );
      const after = await rowsOf('SELECT * FROM categories WHERE owner_id = $1 ORDER BY id', [id]);
      const dropped = before.filter((b) => !after.some((a) => a.id === b.id));
      const downloaded = after.filter((a) => !before.some((b) => b.id === a.id));
      expected.push({
        userId: id,
        gained: [
          {
            bucket: `my_categories["${id}"]`,
            definition: 'my_categories',
            line,
            rows: after.length,
            bytes: sum(after)
          }
        ],
        lost: [],
        rowsDownloaded: downloaded.length,
        bytesDownloaded: sum(downloaded),
        rowsDropped: dropped.length,
        bytesDropped: sum(dropped)
      });
    }
    expect([...report.users.changed].sort((a, b) => (a.userId < b.userId ? -1 : 1))).toEqual(expected);
    expect(report.users.considered).toBe(users.length);
    // The seed: alice owns workspace 1 (4 categories) and is a member of 2, whose 4 she drops; bob owns 3.
    const alice = report.users.changed.find((c) => c.userId === DEMO_USERS.alice.id)!;
    expect(alice).toMatchObject({ rowsDropped: 4, rowsDownloaded: 0, gained: [{ rows: 4 }] });
    expect(report.users.changed.find((c) => c.userId === DEMO_USERS.bob.id)).toMatchObject({
      rowsDropped: 0
    });

    const unowned = (await rowsOf('SELECT id FROM categories WHERE owner_id IS NULL')).length;
    const categories = report.uncovered.find((u) => u.table === 'public.categories')!;
    expect(categories).toMatchObject({ current: 0, draft: unowned });
    expect(categories.newlyUncoveredSampleIds).toHaveLength(Math.min(10, unowned));
    const owned = await rowsOf('SELECT * FROM categories WHERE owner_id IS NOT NULL');
    expect(report.reprocessing.operations).toBe(300 + owned.length);

    // The same rules as the draft: nothing changes, and the reprocessing differs by the categories' bytes.
    const same = await runDryRun(target(), DEMO_RULES);
    expect(same.users.changed).toEqual([]);
    const all = await rowsOf('SELECT * FROM categories');
    expect(same.reprocessing.operations).toBe(300 + all.length);
    expect(same.reprocessing.bytes - report.reprocessing.bytes).toBe(sum(all) - sum(owned));
  });

  it('the CLI exits 1 (users lose rows), prints them, and 0 for the unchanged rules', async () => {
    const r = await cli(['rules', 'diff', '--target', 'demo', '--draft', path.join(dir, 'per-user.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  ${DEMO_USERS.alice.email} (${DEMO_USERS.alice.id}): -4 rows (`);
    expect(r.stdout).toContain(
      `    + my_categories["${DEMO_USERS.alice.id}"] (my_categories, line 6): 4 rows, `
    );
    expect(r.stdout).not.toContain('reader-pw');
    const same = await cli([
      'rules',
      'diff',
      '--target',
      'demo',
      '--draft',
      path.join(dir, 'same.yaml'),
      '--json'
    ]);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout).users.changed).toEqual([]);
  });

  it('--users and --sample choose whom to compare', async () => {
    const ws1 = (
      await rowsOf("SELECT workspace_id FROM workspace_memberships WHERE role = 'owner' AND user_id = $1", [
        DEMO_USERS.alice.id
      ])
    )[0]!.workspace_id;
    const members = await rowsOf('SELECT user_id FROM workspace_memberships WHERE workspace_id = $1', [ws1]);
    const r = await cli([
      'rules',
      'diff',
      '--target',
      'demo',
      '--draft',
      path.join(dir, 'per-user.yaml'),
      '--json',
      '--users',
      `SELECT user_id FROM workspace_memberships WHERE workspace_id = '${ws1}'`
    ]);
    const report = JSON.parse(r.stdout);
    expect(report.users.considered).toBe(members.length);
    expect(report.users.changed.map((c: { userId: string }) => c.userId).sort()).toEqual(
      members.map((m) => m.user_id).sort()
    );
    const sample = await cli([
      'rules',
      'diff',
      '--target',
      'demo',
      '--draft',
      path.join(dir, 'per-user.yaml'),
      '--json',
      '--sample',
      '2'
    ]);
    expect(JSON.parse(sample.stdout).users).toMatchObject({
      selection: { kind: 'sample', size: 2 },
      considered: 2
    });
  });
});

describe('a dry run adding a sync stream over a table the source role may not read yet', () => {
  it('says the role may not read it, with the grant; once granted, members gain one bucket per workspace', async () => {
    const refused = await runDryRun(target(), WITH_STREAM);
    expect(refused.valid).toBe(false);
    // Edition 2 streams also draw the library's "alpha version" warning, at the streams.
    expect(refused.problems.filter((p) => p.severity === 'error')).toEqual([
      expect.objectContaining({
        source: 'schema',
        severity: 'error',
        line: lineOf(WITH_STREAM, 'query: SELECT * FROM workspaces'),
        message: expect.stringContaining(
          'The source role "dryrun_reader" may not read public.workspaces (id, name)'
        ),
        fix: expect.stringContaining(
          'GRANT SELECT ("id", "name") ON "public"."workspaces" TO "dryrun_reader"'
        )
      })
    ]);
    expect(refused.problems.find((p) => p.source === 'schema')?.fix).toContain(
      'syncscope source-role --target demo'
    );

    await admin.query('GRANT SELECT ON workspaces TO dryrun_reader');
    try {
      const report = await runDryRun(target(), WITH_STREAM);
      expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
      const line = lineOf(WITH_STREAM, 'workspace_names:');
      const members = await rowsOf('SELECT DISTINCT user_id FROM workspace_memberships ORDER BY user_id');
      const expected = [];
      for (const { user_id: id } of members) {
        const spaces = await rowsOf(
          'SELECT w.* FROM workspaces w JOIN workspace_memberships m ON m.workspace_id = w.id WHERE m.user_id = $1 ORDER BY w.id',
          [id]
        );
        expected.push({
          userId: id,
          gained: spaces.map((w) => ({
            bucket: `workspace_names|0["${w.id}"]`,
            definition: 'workspace_names',
            line,
            rows: 1,
            bytes: bytesOf(w)
          })),
          lost: [],
          rowsDownloaded: spaces.length,
          bytesDownloaded: sum(spaces),
          rowsDropped: 0,
          bytesDropped: 0
        });
      }
      const sortBuckets = <T extends { gained: { bucket: string }[] }>(c: T): T => ({
        ...c,
        gained: [...c.gained].sort((a, b) => (a.bucket < b.bucket ? -1 : 1))
      });
      expect(report.users.changed.map(sortBuckets).sort((a, b) => (a.userId < b.userId ? -1 : 1))).toEqual(
        expected.map(sortBuckets)
      );
      expect(report.totals).toMatchObject({ usersLosing: 0, rowsDropped: 0 });
      const r = await cli(['rules', 'diff', '--target', 'demo', '--draft', path.join(dir, 'stream.yaml')]);
      expect(r.code).toBe(0);
    } finally {
      await admin.query('REVOKE SELECT ON workspaces FROM dryrun_reader');
    }
  });
});

describe('drafts that cannot work against the source', () => {
  it('a type mismatch is invalid at its line, and the CLI exits 1', async () => {
    const problems = await validateDraft(target(), TYPE_MISMATCH);
    expect(problems).toEqual([
      expect.objectContaining({
        source: 'schema',
        severity: 'error',
        line: lineOf(TYPE_MISMATCH, 'usage_count = bucket'),
        message: expect.stringContaining('categories.usage_count (integer)')
      })
    ]);
    const r = await cli(['rules', 'diff', '--target', 'demo', '--draft', path.join(dir, 'mismatch.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`error ${path.join(dir, 'mismatch.yaml')}:7 (schema): `);
  });

  it("an unknown column: the service's validate says ok, the schema check does not", async () => {
    const report = await runDryRun(target(), UNKNOWN_COLUMN);
    expect(report.service).toEqual({ checked: true, ok: true });
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({
        source: 'schema',
        line: lineOf(UNKNOWN_COLUMN, 'no_such_column'),
        message: expect.stringContaining('public.records has no column "no_such_column"')
      })
    ]);
  });

  it('an unknown column in the filter of a SELECT * is caught too', async () => {
    expect(UNKNOWN_FILTER_COLUMN).not.toBe(DEMO_RULES);
    const problems = await validateDraft(target(), UNKNOWN_FILTER_COLUMN);
    expect(problems).toEqual([
      expect.objectContaining({
        source: 'schema',
        severity: 'error',
        line: lineOf(UNKNOWN_FILTER_COLUMN, 'creator'),
        message: expect.stringContaining('public.categories has no column "creator"')
      })
    ]);
  });

  it('a YAML error is at its line, before anything else', async () => {
    const broken = DEMO_RULES.replace('      - SELECT * FROM categories', '     - SELECT * FROM categories');
    const problems = await validateDraft(target(), broken);
    expect(problems[0]).toMatchObject({
      source: 'yaml',
      severity: 'error',
      line: lineOf(broken, '     - SELECT * FROM categories')
    });
  });
});

describe('rules diff refuses bad input with the fix (exit 2)', () => {
  it.each([
    [['--draft', 'nope.yaml'], 'Cannot read the draft nope.yaml: no such file'],
    [
      ['--draft', 'same.yaml', '--users', 'SELECT 1', '--sample', '3'],
      'Pass either --users QUERY or --sample N, not both.'
    ],
    [['--draft', 'same.yaml', '--sample', '0'], '--sample takes a positive whole number of users, not "0"'],
    [
      ['--draft', 'same.yaml', '--sample', 'ten'],
      '--sample takes a positive whole number of users, not "ten"'
    ]
  ])('%j', async (args, message) => {
    const withPaths = args.map((a) => (a.endsWith('.yaml') ? path.join(dir, a) : a));
    const r = await cli(['rules', 'diff', '--target', 'demo', ...withPaths]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SYNCSCOPE_E_DRY_RUN_INPUT: ');
    expect(r.stderr).toContain(message.replace('nope.yaml', path.join(dir, 'nope.yaml')));
  });
});
