import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { findFreePort } from '@syncscope/core';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { readReference } from '@syncscope/core/testing/reference';
import { createTestDatabase, execSql, testPgUrl } from '@syncscope/core/testing/test-database';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '@syncscope/powersync/testing/dev-server-harness';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComputedExpectedState, computeExpectedState } from './compute-expected-state.ts';
import { SpilledExpectedRows } from './expected-rows.ts';
import { checkSourceRoleCanWrite } from './source-role.ts';
import { openSourceSession } from './source-session.ts';

const ref = readReference;

function ndjson(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => null,
    (e: Error) => e
  );
  expect(error, `expected ${code}`).not.toBeNull();
  expect((error as { code?: string }).code, error!.message).toBe(code);
  return error!;
}

describe('computeExpectedState on the reference seed (PowerSync 1.25 captures)', () => {
  let url: string;
  const rules = loadSyncRules(ref('sync-rules.yaml'));
  beforeAll(async () => {
    url = await createTestDatabase('probe_expected_ref');
    await execSql(url, ref('seed.sql'));
  });

  it("gives u-alice exactly ws-1 and ws-2, with the capture's row JSON and checksums", async () => {
    const progress: { phase: string; rows: number }[] = [];
    const state = await computeExpectedState({
      sourceUrl: url,
      rules,
      userId: 'u-alice',
      onProgress: (p) => progress.push(p)
    });
    expect(state.buckets).toEqual([
      {
        bucket: '1#by_workspace["ws-1"]',
        definition: 'by_workspace',
        parameters: { workspace_id: 'ws-1' },
        priority: 3
      },
      {
        bucket: '1#by_workspace["ws-2"]',
        definition: 'by_workspace',
        parameters: { workspace_id: 'ws-2' },
        priority: 3
      }
    ]);
    const capture = ndjson(ref('stream-initial-alice.ndjson'));
    const ops = capture
      .filter((l) => l.data)
      .flatMap((l) => l.data.data.map((op: Record<string, any>) => ({ bucket: l.data.bucket, ...op })));
    expect(ops.length).toBe(12);
    expect(state.rows.size).toBe(ops.length);
    for (const op of ops) {
      const row = state.rows.get(`${op.object_type}/${op.object_id}`);
      expect(row, `${op.object_type}/${op.object_id}`).toBeDefined();
      expect(row!.json).toBe(op.data);
      expect(row!.checksum).toBe(op.checksum);
      expect(row!.buckets).toEqual([op.bucket]);
    }
    expect(state.rows.get('records/rec-1')!.checksum).toBe(2278222453);
    expect(state.overBucketLimit).toBe(false);
    expect(state.evaluationErrors).toEqual([]);
    expect(state.claims).toEqual({ sub: 'u-alice' });
    expect(Date.parse(state.snapshotTakenAt)).not.toBeNaN();

    // Evidence: the parameter query, its YAML line, and the membership rows behind each bucket, with the
    // columns the rules read (and the key): `role` is read by no rule, so it is not read at all.
    expect(state.parameterEvidence).toEqual([
      {
        definition: 'by_workspace',
        query: 'SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()',
        line: 3,
        matchedRows: [
          {
            table: 'public.workspace_memberships',
            id: 'm1',
            values: { id: 'm1', user_id: 'u-alice', workspace_id: 'ws-1' }
          },
          {
            table: 'public.workspace_memberships',
            id: 'm2',
            values: { id: 'm2', user_id: 'u-alice', workspace_id: 'ws-2' }
          }
        ],
        produced: [{ workspace_id: 'ws-1' }, { workspace_id: 'ws-2' }]
      }
    ]);
    // Every table was read through a pushed-down filter: only alice's rows left Postgres.
    expect(state.scans.map((s) => [s.phase, s.table, s.mode, s.rowsRead])).toEqual([
      ['parameters', 'public.workspace_memberships', 'pushdown', 2],
      ['data', 'public.records', 'pushdown', 8],
      ['data', 'public.categories', 'pushdown', 4]
    ]);
    expect(progress.at(-1)).toEqual({ phase: 'done', rows: 14 });
  });

  it('gives the same rows when they are spilled to SQLite, as the probe keeps them', async () => {
    const inMemory = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-alice' });
    const spilled = await computeExpectedState({
      sourceUrl: url,
      rules,
      userId: 'u-alice',
      rows: SpilledExpectedRows.create()
    });
    expect(spilled.rows.size).toBe(12);
    expect([...spilled.rows.values()]).toEqual([...inMemory.rows.values()]);
    expect(spilled.scans).toEqual(inMemory.scans);
    spilled.rows.close();
  });

  it('gives u-carol ws-4 and ws-5', async () => {
    const state = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-carol' });
    expect(state.buckets.map((b) => b.bucket)).toEqual(['1#by_workspace["ws-4"]', '1#by_workspace["ws-5"]']);
    // 20 records over 5 workspaces, 2 categories each.
    expect(state.rows.size).toBe(12);
    expect([...state.rows.values()].every((r) => JSON.parse(r.json).workspace_id.match(/^ws-[45]$/))).toBe(
      true
    );
  });

  it('gives a user with no memberships no buckets and no rows, and reads no data table', async () => {
    const state = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-nobody' });
    expect(state.buckets).toEqual([]);
    expect(state.rows.size).toBe(0);
    expect(state.parameterEvidence[0]!.matchedRows).toEqual([]);
    expect(state.scans.filter((s) => s.phase === 'data').map((s) => s.mode)).toEqual(['skipped', 'skipped']);
  });

  it('names a table the rules read that the database lacks, with its line', async () => {
    const broken = loadSyncRules(
      `${ref('sync-rules.yaml')}  extra:\n    data:\n      - SELECT * FROM no_such_table\n`
    );
    const error = await expectCode(
      computeExpectedState({ sourceUrl: url, rules: broken, userId: 'u-alice' }),
      'SYNCSCOPE_E_SYNC_RULES_INVALID'
    );
    expect(error.message).toContain('public.no_such_table');
    expect(error.message).toContain('sync_rules.yaml:9');
  });

  it('reads in a READ ONLY transaction: a write is refused', async () => {
    const session = await openSourceSession(url);
    try {
      const { rows } = await session.client.query('SHOW transaction_isolation');
      expect(rows[0].transaction_isolation).toBe('repeatable read');
      const error = await session.client.query("INSERT INTO users VALUES ('x', 'y')").then(
        () => null,
        (e: { code?: string }) => e
      );
      expect(error?.code).toBe('25006'); // read_only_sql_transaction
    } finally {
      await session.close();
    }
  });
});

describe('computeExpectedState matches what the dev sync server sends', () => {
  // Every decoded type, a domain over a domain, a static bucket, a global bucket, a JWT-claim lookup on an
  // integer, a data query that pushes down (AND with a row filter) and one that cannot (an expression
  // around the column), so both read paths are compared with the server's own evaluation.
  const SOURCE = `
CREATE DOMAIN ws_id AS text;
CREATE DOMAIN ws_id2 AS ws_id;
CREATE TABLE memberships(id text primary key, user_id text, workspace_id ws_id, role text);
CREATE TABLE items(id uuid primary key, workspace_id ws_id2, n int4, big int8, small int2, f float8, r real,
  ok boolean, at timestamptz, ts timestamp, d date, t time, j jsonb, js json, tags text[], nums int4[],
  amount numeric, blob bytea, nothing text, v varchar(20), lsn pg_lsn, iv interval);
CREATE TABLE tasks(id text primary key, workspace_id text, archived boolean, title text);
CREATE TABLE notes(id int8 primary key, owner text, body text);
CREATE TABLE settings(id text primary key, value json);
CREATE TABLE orgs(id int4 primary key, name text);
CREATE TABLE projects(id text primary key, org_id int4, name text);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO memberships VALUES ('m1', 'u-1', 'W1', 'owner'), ('m2', 'u-1', 'w2', 'member'), ('m3', 'u-2', 'w2', 'owner');
INSERT INTO items SELECT
  md5('item' || i)::uuid, (ARRAY['W1', 'w2', 'w3'])[i % 3 + 1], i, i::int8 * 1000000007, (i % 100)::int2, i / 7.0, (i / 3.0)::real,
  i % 2 = 0, timestamptz '2026-03-01 12:00:00.123456+02' + (i || ' minutes')::interval,
  timestamp '2026-03-01 08:00:00' + (i || ' seconds')::interval, date '2026-01-01' + i, time '10:00:00.5' + (i || ' s')::interval,
  jsonb_build_object('i', i, 'nested', jsonb_build_object('a', ARRAY[1, 2])), json_build_object('k', 'v' || i),
  ARRAY['a' || i, 'b"q'], ARRAY[i, i + 1], (i * 1.5)::numeric(12, 3), decode(lpad(to_hex(i), 8, '0'), 'hex'),
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'x' END, 'v' || i, ('0/' || to_hex(i * 4096))::pg_lsn, (i || ' hours')::interval
  FROM generate_series(1, 6000) i;
INSERT INTO tasks SELECT 't' || i, (ARRAY['W1', 'w2', 'w3'])[i % 3 + 1], i % 4 = 0, 'Task ' || i FROM generate_series(1, 300) i;
INSERT INTO notes SELECT i, 'u-' || (i % 3), 'note ' || i FROM generate_series(1, 30) i;
INSERT INTO settings VALUES ('theme', '{"dark": true}'), ('locale', '"en"');
INSERT INTO orgs VALUES (7, 'Seven'), (8, 'Eight');
INSERT INTO projects SELECT 'p' || i, 7 + i % 2, 'Project ' || i FROM generate_series(1, 10) i;`;

  const RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM items WHERE workspace_id = bucket.workspace_id
      - SELECT id, upper(title) AS title FROM tasks WHERE workspace_id = bucket.workspace_id AND archived = false
  lower_ws:
    parameters: SELECT workspace_id AS ws FROM memberships WHERE user_id = request.user_id() AND role = 'owner'
    data:
      - SELECT id, title, 'lower' AS via FROM tasks AS lowered_tasks WHERE lower(lowered_tasks.workspace_id) = bucket.ws
  mine:
    parameters: SELECT request.user_id() AS user_id
    data:
      - SELECT id, body FROM notes WHERE owner = bucket.user_id
  by_org:
    parameters: SELECT id AS org_id FROM orgs WHERE id = request.jwt() ->> 'org'
    data:
      - SELECT * FROM projects WHERE org_id = bucket.org_id
  everyone:
    data:
      - SELECT * FROM settings
`;

  let h: DevServerHarness;
  const rules = loadSyncRules(RULES);
  beforeAll(async () => {
    h = await startDevServerHarness({ name: 'probe_parity', sourceSql: SOURCE, rulesYaml: RULES });
    await h.caughtUp(60_000);
  });
  afterAll(async () => h?.close());

  async function served(userId: string, claims: Record<string, unknown>) {
    const { status, lines } = await readSyncStream(
      h.server.url,
      await h.token(userId, { claims }),
      { raw_data: true, include_checksum: true },
      (l) => 'checkpoint_complete' in l,
      30_000
    );
    expect(status).toBe(200);
    const checkpoint = lines.find((l) => 'checkpoint' in l)!.checkpoint as { buckets: { bucket: string }[] };
    const ops = lines
      .filter((l) => 'data' in l)
      .flatMap((l: Record<string, any>) =>
        l.data.data.map((op: Record<string, any>) => ({ bucket: l.data.bucket, ...op }))
      );
    return { buckets: checkpoint.buckets.map((b) => b.bucket).sort(), ops };
  }

  function flatten(state: ComputedExpectedState) {
    return [...state.rows.values()]
      .flatMap((r) =>
        r.buckets.map((bucket) => ({
          bucket,
          object_type: r.table,
          object_id: r.id,
          data: r.json,
          checksum: r.checksum
        }))
      )
      .sort((a, b) =>
        `${a.bucket}/${a.object_type}/${a.object_id}`.localeCompare(
          `${b.bucket}/${b.object_type}/${b.object_id}`
        )
      );
  }

  for (const [userId, claims] of [
    ['u-1', { org: 7 }],
    ['u-2', {}]
  ] as const) {
    it(`${userId}: same buckets, row JSON and checksums as the server sends`, async () => {
      const state = await computeExpectedState({ sourceUrl: h.sourceUrl, rules, userId, claims });
      const server = await served(userId, claims);
      expect(state.buckets.map((b) => b.bucket)).toEqual(server.buckets);
      const expected = server.ops
        .filter((o) => o.op === 'PUT')
        .map(({ bucket, object_type, object_id, data, checksum }) => ({
          bucket,
          object_type,
          object_id,
          data,
          checksum
        }))
        .sort((a, b) =>
          `${a.bucket}/${a.object_type}/${a.object_id}`.localeCompare(
            `${b.bucket}/${b.object_type}/${b.object_id}`
          )
        );
      expect(flatten(state)).toEqual(expected);
      expect(state.evaluationErrors).toEqual([]);
      if (userId === 'u-1') {
        expect(state.buckets.map((b) => b.bucket)).toEqual([
          '1#by_org[7]',
          '1#by_workspace["W1"]',
          '1#by_workspace["w2"]',
          '1#everyone[]',
          '1#lower_ws["W1"]',
          '1#mine["u-1"]'
        ]);
        const modes = Object.fromEntries(state.scans.map((s) => [`${s.phase} ${s.table}`, s.mode]));
        expect(modes).toEqual({
          'parameters public.memberships': 'pushdown',
          'parameters public.orgs': 'pushdown',
          'data public.items': 'pushdown',
          'data public.tasks': 'full', // lower(workspace_id) cannot be pushed down
          'data public.notes': 'pushdown',
          'data public.settings': 'full',
          'data public.projects': 'pushdown'
        });
        const items = state.scans.find((s) => s.table === 'public.items')!;
        expect(items.rowsRead).toBe(4000);
        expect(items.rowsKept).toBe(4000);
      }
    });
  }

  it('a JWT-claim rule probed without the claim gives no bucket of it', async () => {
    const state = await computeExpectedState({ sourceUrl: h.sourceUrl, rules, userId: 'u-1' });
    expect(state.buckets.map((b) => b.bucket)).not.toContain('1#by_org[7]');
    expect(state.buckets.filter((b) => b.definition === 'by_org')).toEqual([]);
    const server = await served('u-1', {});
    expect(state.buckets.map((b) => b.bucket)).toEqual(server.buckets);
  });
});

describe('computeExpectedState limits and failures', () => {
  let url: string;
  const rules = loadSyncRules(ref('sync-rules.yaml'));
  beforeAll(async () => {
    url = await createTestDatabase('probe_expected_limits');
    await execSql(url, ref('seed.sql'));
  });

  it('computes past 1000 buckets and marks the user as over the limit', async () => {
    await execSql(
      url,
      "INSERT INTO workspace_memberships SELECT 'big-' || i, 'u-many', 'wsx-' || i, 'member' FROM generate_series(1, 1001) i"
    );
    const state = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-many' });
    expect(state.buckets.length).toBe(1001);
    expect(state.overBucketLimit).toBe(true);
    const alice = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-alice' });
    expect(alice.overBucketLimit).toBe(false);
  });

  it('a statement that outlasts the timeout is a clear error', async () => {
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE records IN ACCESS EXCLUSIVE MODE');
      const error = await expectCode(
        computeExpectedState({ sourceUrl: url, rules, userId: 'u-alice', statementTimeoutMs: 300 }),
        'SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT'
      );
      expect(error.message).toContain('300 ms');
      expect(error.message).not.toContain('postgres:postgres@');
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('an unreachable source is SYNCSCOPE_E_PG_UNREACHABLE, without the password', async () => {
    const port = await findFreePort();
    const error = await expectCode(
      computeExpectedState({
        sourceUrl: `postgres://probe:secret-pw@127.0.0.1:${port}/app`,
        rules,
        userId: 'u-alice'
      }),
      'SYNCSCOPE_E_PG_UNREACHABLE'
    );
    expect(error.message).not.toContain('secret-pw');
    await expectCode(
      computeExpectedState({ sourceUrl: testPgUrl('probe_no_such_db'), rules, userId: 'u-alice' }),
      'SYNCSCOPE_E_PG_UNREACHABLE'
    );
  });

  it('checkSourceRoleCanWrite: true for the superuser, false for a SELECT-only role, true with INSERT', async () => {
    const superuser = await checkSourceRoleCanWrite(url, rules);
    expect(superuser.canWrite).toBe(true);
    expect(superuser.reasons[0]).toMatch(/superuser/);

    await execSql(url, 'DROP ROLE IF EXISTS probe_reader; DROP ROLE IF EXISTS probe_writer');
    await execSql(
      url,
      `CREATE ROLE probe_reader LOGIN PASSWORD 'reader';
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO probe_reader;
       CREATE ROLE probe_writer LOGIN PASSWORD 'writer';
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO probe_writer;
       GRANT INSERT, DELETE ON records TO probe_writer;
       GRANT UPDATE (name) ON categories TO probe_writer;`
    );
    const asRole = (role: string, pw: string) => {
      const u = new URL(url);
      u.username = role;
      u.password = pw;
      return u.toString();
    };
    const reader = await checkSourceRoleCanWrite(asRole('probe_reader', 'reader'), rules);
    expect(reader).toMatchObject({ canWrite: false, reasons: [], readsBeyondRules: true });
    // SELECT on the whole schema reaches tables no rule reads.
    expect(reader.readReasons).toEqual([
      'role "probe_reader" can read public.users, which the rules do not read',
      'role "probe_reader" can read public.workspace_memberships columns role, which the rules do not read',
      'role "probe_reader" can read public.workspaces, which the rules do not read'
    ]);
    const writer = await checkSourceRoleCanWrite(asRole('probe_writer', 'writer'), rules);
    expect(writer.canWrite).toBe(true);
    expect(writer.reasons).toEqual([
      'role "probe_writer" can UPDATE on public.categories',
      'role "probe_writer" can INSERT, DELETE on public.records'
    ]);
    // The read-only role computes the same expected state.
    const state = await computeExpectedState({
      sourceUrl: asRole('probe_reader', 'reader'),
      rules,
      userId: 'u-alice'
    });
    expect(state.rows.size).toBe(12);
  });
});

describe('computeExpectedState over a 100k-row table', () => {
  let url: string;
  const ROWS = 100_000;
  beforeAll(async () => {
    url = await createTestDatabase('probe_expected_large');
    await execSql(
      url,
      `CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text);
       CREATE TABLE records(id text primary key, workspace_id text, title text, body text);
       CREATE INDEX ON records(workspace_id);
       INSERT INTO workspace_memberships VALUES ('m1', 'u-1', 'ws-7');
       INSERT INTO records SELECT 'rec-' || i, 'ws-' || (i % 1000), 'Record ' || i, repeat('x', 200)
         FROM generate_series(1, ${ROWS}) i;
       ANALYZE records;`
    );
  });

  it("pushes the bucket filter down: only the user's 100 rows are read", async () => {
    const rules = loadSyncRules(`bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
`);
    const state = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-1' });
    expect(state.rows.size).toBe(ROWS / 1000);
    const scan = state.scans.find((s) => s.phase === 'data')!;
    expect(scan).toMatchObject({ mode: 'pushdown', rowsRead: 100, rowsKept: 100 });
  });

  it("streams the whole table in batches when it cannot push down, keeping only the user's rows", async () => {
    const rules = loadSyncRules(`bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE lower(workspace_id) = bucket.workspace_id
`);
    // Retained heap, measured after a forced GC at every batch: what the computation holds on to.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const seen: number[] = [];
    let peakRetained = 0;
    const state = await computeExpectedState({
      sourceUrl: url,
      rules,
      userId: 'u-1',
      onProgress: (p) => {
        if (p.phase !== 'data') return;
        seen.push(p.rows);
        gc();
        peakRetained = Math.max(peakRetained, process.memoryUsage().heapUsed - before);
      }
    });
    expect(state.rows.size).toBe(100);
    expect(state.scans.find((s) => s.phase === 'data')).toMatchObject({
      mode: 'full',
      rowsRead: ROWS,
      rowsKept: 100
    });
    // Rows arrive 5,000 at a time, never the whole table at once.
    expect(seen.length).toBe(ROWS / 5000);
    expect(seen.every((n, i) => n === (i + 1) * 5000)).toBe(true);
    const { rows } = await execSql(url, 'SELECT sum(pg_column_size(r.*))::int8 AS bytes FROM records r');
    const tableBytes = Number(rows[0].bytes);
    console.log(
      `full scan: retained heap peak ${(peakRetained / 1e6).toFixed(1)} MB, table ${(tableBytes / 1e6).toFixed(1)} MB`
    );
    // At most two 5,000-row batches plus the user's rows are alive: a small fraction of the table.
    expect(peakRetained).toBeLessThan(tableBytes / 3);
  });
});
