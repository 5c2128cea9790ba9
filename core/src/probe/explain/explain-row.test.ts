import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { readReference } from '@syncscope/core/testing/reference';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeExpectedState } from '../expected/compute-expected-state.ts';
import { explainRow } from './explain-row.ts';

const ref = readReference;

describe('explainRow on the reference seed', () => {
  let url: string;
  const rules = loadSyncRules(ref('sync-rules.yaml'));
  beforeAll(async () => {
    url = await createTestDatabase('probe_explain_ref');
    await execSql(url, ref('seed.sql'));
    await execSql(url, "INSERT INTO records VALUES ('rec-orphan', NULL, 'No workspace', 1, NULL, now())");
  });

  it('traces rec-1 into ws-1, held by u-alice, with the capture JSON and checksum', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'records', id: 'rec-1' });
    expect(trace.found).toBe(true);
    expect(trace.sourceTable).toBe('public.records');
    expect(trace.row).toMatchObject({ id: 'rec-1', workspace_id: 'ws-1', amount: '12.345' });
    expect(trace.queries).toHaveLength(1);
    const q = trace.queries[0]!;
    expect(q).toMatchObject({
      definition: 'by_workspace',
      query: 'SELECT * FROM records WHERE workspace_id = bucket.workspace_id',
      line: 5,
      outputTable: 'records',
      selected: true
    });
    expect(q.buckets).toHaveLength(1);
    const b = q.buckets[0]!;
    expect(b.bucket).toBe('1#by_workspace["ws-1"]');
    expect(b.parameters).toEqual({ workspace_id: 'ws-1' });
    expect(b.checksum).toBe(2278222453);
    expect(b.json).toBe(
      '{"id":"rec-1","workspace_id":"ws-1","title":"Record 1","amount":"12.345","category_id":"cat-1-2","created_at":"2026-01-01 11:00:00Z"}'
    );
    expect(b.holders).toMatchObject({
      kind: 'users',
      userIds: ['u-alice'],
      description: 'u-alice',
      parameterRowCount: 1,
      nearMisses: []
    });
    expect(b.holders.parameterRows.map((r) => [r.table, r.id, r.lookup, r.line])).toEqual([
      ['public.workspace_memberships', 'm1', ['u-alice'], 3]
    ]);
    expect(trace.summary).toBe(
      'records/rec-1 is in 1#by_workspace["ws-1"] (by_workspace, line 5), held by u-alice.'
    );
  });

  it('lists both members of a shared workspace', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'categories', id: 'cat-2-1' });
    expect(trace.queries[0]!.line).toBe(6);
    expect(trace.queries[0]!.buckets[0]!.holders.userIds).toEqual(['u-alice', 'u-bob']);
  });

  it('says u-alice holds it and u-carol does not, naming the missing membership', async () => {
    const alice = await explainRow({
      sourceUrl: url,
      rules,
      table: 'records',
      id: 'rec-1',
      userId: 'u-alice'
    });
    expect(alice.user).toMatchObject({ userId: 'u-alice', holdsRow: true });
    expect(alice.user!.buckets).toEqual(['1#by_workspace["ws-1"]', '1#by_workspace["ws-2"]']);
    expect(alice.summary).toContain('u-alice holds it through 1#by_workspace["ws-1"].');

    const carol = await explainRow({
      sourceUrl: url,
      rules,
      table: 'records',
      id: 'rec-1',
      userId: 'u-carol'
    });
    expect(carol.user!.holdsRow).toBe(false);
    const reasons = carol.queries[0]!.buckets[0]!.user!.reasons;
    expect(reasons).toEqual([
      {
        code: 'no-parameter-row',
        message:
          "no workspace_memberships row with user_id = 'u-carol' and workspace_id = 'ws-1' (by_workspace, line 3); this user's workspace_memberships rows give workspace_id = 'ws-4', 'ws-5'",
        definition: 'by_workspace',
        line: 3
      }
    ]);
    expect(carol.summary).toContain(
      "u-carol does not hold it: no workspace_memberships row with user_id = 'u-carol'"
    );
  });

  it('a user with no memberships: the parameter query returns nothing', async () => {
    const trace = await explainRow({
      sourceUrl: url,
      rules,
      table: 'records',
      id: 'rec-1',
      userId: 'u-nobody'
    });
    expect(trace.queries[0]!.buckets[0]!.user!.reasons.map((r) => [r.code, r.message])).toEqual([
      [
        'parameter-query-empty',
        "by_workspace's parameter query (line 3) returns nothing for this user: no workspace_memberships row with user_id = 'u-nobody'"
      ]
    ]);
    expect(trace.user!.buckets).toEqual([]);
  });

  it('a row no data query selects reaches nobody, and says why', async () => {
    const trace = await explainRow({
      sourceUrl: url,
      rules,
      table: 'records',
      id: 'rec-orphan',
      userId: 'u-alice'
    });
    expect(trace.found).toBe(true);
    expect(trace.queries[0]).toMatchObject({
      selected: false,
      reason: 'its workspace_id is NULL, and NULL never equals bucket.workspace_id, so it is in no bucket',
      buckets: []
    });
    expect(trace.summary).toBe(
      'No data query puts records/rec-orphan in a bucket, so it reaches nobody. by_workspace (line 5): its workspace_id is NULL, and NULL never equals bucket.workspace_id, so it is in no bucket. So u-alice does not hold it either.'
    );
  });

  it('a table no rule reads is refused, naming the tables the rules read', async () => {
    await expect(explainRow({ sourceUrl: url, rules, table: 'users', id: 'u-alice' })).rejects.toMatchObject({
      code: 'SYNCSCOPE_E_TABLE_NOT_IN_RULES',
      message: expect.stringMatching(/do not read table "users".*public\.records.*public\.categories/)
    });
  });

  it('a row missing from Postgres is "not found"', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'records', id: 'rec-999' });
    expect(trace.found).toBe(false);
    expect(trace.row).toBeNull();
    expect(trace.queries).toEqual([
      expect.objectContaining({
        definition: 'by_workspace',
        line: 5,
        selected: false,
        reason: 'the row is not in Postgres'
      })
    ]);
    expect(trace.summary).toBe(
      "public.records has no row with id 'rec-999': no user should hold records/rec-999."
    );
  });

  it('an unknown table is refused as not in the rules', async () => {
    await expect(explainRow({ sourceUrl: url, rules, table: 'nope', id: 'x' })).rejects.toMatchObject({
      code: 'SYNCSCOPE_E_TABLE_NOT_IN_RULES'
    });
  });
});

describe('explainRow: claims, static buckets, type mismatches, filters', () => {
  let url: string;
  const YAML = `bucket_definitions:
  by_org:
    parameters: SELECT id AS org_id FROM orgs WHERE id = request.jwt() ->> 'org'
    data:
      - SELECT * FROM projects WHERE org_id = bucket.org_id
  mine:
    parameters: SELECT request.user_id() AS user_id
    data:
      - SELECT id, body FROM notes WHERE owner = bucket.user_id
  by_ws:
    parameters: SELECT workspace_id FROM memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM items WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM tasks WHERE workspace_id = bucket.workspace_id AND archived = false
  by_badge:
    parameters: SELECT team AS team FROM badges WHERE badge_no = request.jwt() ->> 'badge'
    data:
      - SELECT * FROM team_docs WHERE team = bucket.team
  everyone:
    data:
      - SELECT * FROM settings
`;
  const rules = loadSyncRules(YAML);
  beforeAll(async () => {
    url = await createTestDatabase('probe_explain_cases');
    await execSql(
      url,
      `CREATE TABLE orgs(id int4 primary key, name text);
       CREATE TABLE projects(id text primary key, org_id int4, name text);
       CREATE TABLE notes(id text primary key, owner text, body text);
       CREATE TABLE memberships(id text primary key, user_id text, workspace_id text);
       CREATE TABLE items(id text primary key, workspace_id int4, title text);
       CREATE TABLE tasks(id text primary key, workspace_id int4, archived boolean);
       CREATE TABLE badges(id text primary key, badge_no int4, team text);
       CREATE TABLE team_docs(id text primary key, team text);
       CREATE TABLE settings(id text primary key, value text);
       INSERT INTO orgs VALUES (7, 'Seven');
       INSERT INTO projects VALUES ('p1', 7, 'Apollo');
       INSERT INTO notes VALUES ('n1', 'u-1', 'hello');
       -- workspace ids stored as text in memberships, integers in items: '42' vs 42.
       INSERT INTO memberships VALUES ('m1', 'u-1', '42');
       INSERT INTO items VALUES ('i1', 42, 'Answer');
       INSERT INTO tasks VALUES ('t1', 42, true);
       INSERT INTO badges VALUES ('b1', 1234, 'red');
       INSERT INTO team_docs VALUES ('d1', 'red');
       INSERT INTO settings VALUES ('theme', 'dark');`
    );
  });

  it('a request.jwt() rule probed without the claim: no bucket, and the claim is named as missing', async () => {
    const state = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-1' });
    expect(state.buckets.some((b) => b.definition === 'by_org')).toBe(false);
    const withClaim = await computeExpectedState({
      sourceUrl: url,
      rules,
      userId: 'u-1',
      claims: { org: 7 }
    });
    expect(withClaim.buckets.map((b) => b.bucket)).toContain('1#by_org[7]');

    const trace = await explainRow({ sourceUrl: url, rules, table: 'projects', id: 'p1', userId: 'u-1' });
    const bucket = trace.queries[0]!.buckets[0]!;
    expect(bucket.bucket).toBe('1#by_org[7]');
    expect(bucket.holders).toMatchObject({ kind: 'request' });
    expect(bucket.holders.description).toBe("any user whose request.jwt() ->> 'org' is 7 (public.orgs 7)");
    expect(bucket.user!.reasons).toEqual([
      {
        code: 'claim-missing',
        message:
          "the token has no 'org' claim, which by_org (line 3) reads as request.jwt() ->> 'org', so it gives this user no by_org bucket",
        definition: 'by_org',
        line: 3
      }
    ]);
    expect(trace.summary).toContain("u-1 does not hold it: the token has no 'org' claim");

    const held = await explainRow({
      sourceUrl: url,
      rules,
      table: 'projects',
      id: 'p1',
      userId: 'u-1',
      claims: { org: 7 }
    });
    expect(held.user!.holdsRow).toBe(true);
    const other = await explainRow({
      sourceUrl: url,
      rules,
      table: 'projects',
      id: 'p1',
      userId: 'u-1',
      claims: { org: 8 }
    });
    expect(other.queries[0]!.buckets[0]!.user!.reasons[0]).toMatchObject({
      code: 'parameter-query-empty',
      message: "by_org's parameter query (line 3) returns nothing for this user: no orgs row with id = 8"
    });
  });

  it('a static request.user_id() bucket: "any user whose id is X"', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'notes', id: 'n1', userId: 'u-2' });
    const bucket = trace.queries[0]!.buckets[0]!;
    expect(bucket.bucket).toBe('1#mine["u-1"]');
    expect(bucket.holders).toMatchObject({
      kind: 'users',
      userIds: ['u-1'],
      description: "any user whose id is 'u-1'"
    });
    expect(bucket.user!.reasons).toEqual([
      {
        code: 'request-value-differs',
        message:
          "mine (line 7) gives this user user_id = 'u-2' (request.user_id()), but the row's bucket 1#mine[\"u-1\"] needs user_id = 'u-1'",
        definition: 'mine',
        line: 7
      }
    ]);
  });

  it("text '42' in the parameter table vs integer 42 in the data table is explained as a type mismatch", async () => {
    const state = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-1' });
    expect(state.buckets.map((b) => b.bucket)).toContain('1#by_ws["42"]');
    expect(state.rows.get('items/i1')).toBeUndefined();

    const trace = await explainRow({ sourceUrl: url, rules, table: 'items', id: 'i1', userId: 'u-1' });
    const bucket = trace.queries[0]!.buckets[0]!;
    expect(bucket.bucket).toBe('1#by_ws[42]');
    expect(bucket.holders.kind).toBe('nobody');
    expect(bucket.holders.nearMisses.map((r) => [r.table, r.id, r.produces])).toEqual([
      ['public.memberships', 'm1', { workspace_id: '42' }]
    ]);
    expect(bucket.holders.description).toBe(
      "nobody: no memberships row gives workspace_id = integer 42 (by_ws, line 11); 1 public.memberships row(s) give workspace_id = text '42', which differs from integer 42 only by type"
    );
    expect(bucket.user!.holds).toBe(false);
    const mismatch = bucket.user!.reasons.find((r) => r.code === 'type-mismatch');
    expect(mismatch?.message).toBe(
      "type mismatch in by_ws: the row is in 1#by_ws[42] because items.workspace_id is integer 42 (column type integer, line 13), but the user's parameter query gives text '42' (memberships.workspace_id is text), so the user has 1#by_ws[\"42\"] instead; values that differ only by type make different bucket ids"
    );
    expect(trace.summary).toContain('u-1 does not hold it: type mismatch in by_ws');
  });

  it('a claim whose type differs from the looked-up column is a type mismatch too', async () => {
    const trace = await explainRow({
      sourceUrl: url,
      rules,
      table: 'team_docs',
      id: 'd1',
      userId: 'u-1',
      claims: { badge: '1234' }
    });
    const reasons = trace.queries[0]!.buckets[0]!.user!.reasons;
    expect(reasons.map((r) => r.code)).toEqual(['type-mismatch']);
    expect(reasons[0]!.message).toBe(
      "type mismatch in by_badge (line 16): badges row b1 has badge_no = integer 1234, but this user's request.jwt() ->> 'badge' is text '1234'; values that differ only by type do not match"
    );
    const ok = await explainRow({
      sourceUrl: url,
      rules,
      table: 'team_docs',
      id: 'd1',
      userId: 'u-1',
      claims: { badge: 1234 }
    });
    expect(ok.user!.holdsRow).toBe(true);
  });

  it('a row filter that fails is named with the row values', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'tasks', id: 't1' });
    expect(trace.queries[0]).toMatchObject({
      definition: 'by_ws',
      line: 14,
      selected: false,
      reason:
        'no bucket satisfies WHERE workspace_id = bucket.workspace_id AND archived = false for this row (workspace_id = 42, archived = true), so it is in no bucket'
    });
  });

  it('a bucket without parameters is held by every user', async () => {
    const trace = await explainRow({
      sourceUrl: url,
      rules,
      table: 'settings',
      id: 'theme',
      userId: 'anyone'
    });
    const bucket = trace.queries[0]!.buckets[0]!;
    expect(bucket.bucket).toBe('1#everyone[]');
    expect(bucket.holders).toMatchObject({ kind: 'everyone', description: 'every user' });
    expect(bucket.user).toEqual({ holds: true, reasons: [] });
  });
});
