import { userSearchAccess } from '@syncscope/core/source-access/source-access';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCoverage } from './with-rules-analysis.ts';

// The demo's rules (powersync/sync_rules.yaml) on purpose-made data.
const WORKSPACE_RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM categories WHERE workspace_id = bucket.workspace_id
`;

const SCHEMA = `
CREATE TABLE users (id text PRIMARY KEY, email text NOT NULL);
CREATE TABLE workspace_memberships (id text PRIMARY KEY, user_id text NOT NULL, workspace_id text NOT NULL);
CREATE TABLE records (id text PRIMARY KEY, workspace_id text, title text NOT NULL);
CREATE TABLE categories (id text PRIMARY KEY, workspace_id text NOT NULL, name text NOT NULL);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO users VALUES ('u-alice', 'alice@example.com'), ('u-bob', 'bob@example.com'), ('u-carol', 'carol@example.com');
INSERT INTO workspace_memberships VALUES ('m1', 'u-alice', 'ws-1'), ('m2', 'u-bob', 'ws-2'), ('m3', 'u-ghost', 'ws-ghost');
INSERT INTO records VALUES ('rec-1', 'ws-1', 'one'), ('rec-2', 'ws-2', 'two'),
  ('rec-orphan-1', 'ws-none', 'x'), ('rec-orphan-2', 'ws-none', 'y'), ('rec-orphan-3', 'ws-none', 'z'),
  ('rec-null', NULL, 'no workspace'), ('rec-ghost', 'ws-ghost', 'held by a user the app does not know');
INSERT INTO categories VALUES ('cat-1', 'ws-1', 'a');
`;

describe('coverage of the workspace rules', () => {
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase('rules_insight_coverage');
    await execSql(url, SCHEMA);
  });
  const target = () => ({
    sourceUrl: url,
    syncRulesYaml: WORKSPACE_RULES,
    userSearch: userSearchAccess({ table: 'users', id_column: 'id' })
  });

  it('counts the records no user receives, names the rule and the parameter, and samples them', async () => {
    const report = await readCoverage(target());
    const records = report.tables.find((t) => t.table === 'public.records')!;
    expect(records).toMatchObject({ rows: 7, rowsInNoBucket: 5 });
    expect(records.queries).toEqual([
      {
        definition: 'by_workspace',
        sql: 'SELECT * FROM records WHERE workspace_id = bucket.workspace_id',
        line: 5,
        bucketParameters: ['workspace_id'],
        inUnheldBucket: 4,
        nullParameter: 1,
        conditionFails: 0
      }
    ]);
    expect(records.samples).toEqual([
      {
        id: 'rec-ghost',
        reason:
          'by_workspace (line 5) puts it in a bucket no user holds: no user\'s parameter query gives workspace_id = "ws-ghost"'
      },
      { id: 'rec-null', reason: 'workspace_id is NULL, so by_workspace (line 5) puts it in no bucket' },
      {
        id: 'rec-orphan-1',
        reason:
          'by_workspace (line 5) puts it in a bucket no user holds: no user\'s parameter query gives workspace_id = "ws-none"'
      },
      expect.objectContaining({ id: 'rec-orphan-2' }),
      expect.objectContaining({ id: 'rec-orphan-3' })
    ]);
    expect(report.tables.find((t) => t.table === 'public.categories')).toMatchObject({
      rows: 1,
      rowsInNoBucket: 0,
      samples: []
    });
  });

  it('names the known users a parameter query gives nothing, and those with no bucket at all', async () => {
    const report = await readCoverage(target());
    expect(report.parameterGaps).toEqual([
      {
        definition: 'by_workspace',
        sql: 'SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()',
        line: 3,
        users: 3,
        usersWithout: 1,
        sampleUserIds: ['u-carol']
      }
    ]);
    expect(report.usersWithoutBuckets).toEqual({ users: 3, count: 1, sampleUserIds: ['u-carol'] });
    expect(report.tableProblems).toEqual([]);
    expect(report.typeMismatches).toEqual([]);
  });

  it('without a users table, a membership of any user id holds its workspace', async () => {
    const report = await readCoverage({ sourceUrl: url, syncRulesYaml: WORKSPACE_RULES });
    const records = report.tables.find((t) => t.table === 'public.records')!;
    expect(records.rowsInNoBucket).toBe(4);
    expect(records.samples.map((s) => s.id)).toEqual([
      'rec-null',
      'rec-orphan-1',
      'rec-orphan-2',
      'rec-orphan-3'
    ]);
    expect(report.parameterGaps).toEqual([]);
    expect(report.usersWithoutBuckets).toBeUndefined();
  });

  it('lists a rule it cannot evaluate in SQL as not analysed rather than counting its table', async () => {
    const rules = WORKSPACE_RULES.replace(
      'FROM records WHERE workspace_id = bucket.workspace_id',
      "FROM records WHERE workspace_id = bucket.workspace_id AND upper(title) = 'X'"
    );
    const report = await readCoverage({ ...target(), syncRulesYaml: rules });
    expect(report.tables.map((t) => t.table)).toEqual([]);
    expect(report.notAnalysed).toEqual([
      {
        definition: 'by_workspace',
        sql: "SELECT * FROM records WHERE workspace_id = bucket.workspace_id AND upper(title) = 'X'",
        line: 5,
        reason: 'the data query has a condition SyncScope cannot evaluate in SQL'
      },
      {
        table: 'public.records',
        reason: 'bucket definition by_workspace has a query SyncScope cannot evaluate in SQL'
      },
      {
        table: 'public.categories',
        reason: 'bucket definition by_workspace has a query SyncScope cannot evaluate in SQL'
      }
    ]);
  });

  it('takes a sample size and a row joining a workspace leaves the count', async () => {
    await execSql(url, "INSERT INTO workspace_memberships VALUES ('m4', 'u-carol', 'ws-none')");
    try {
      const report = await readCoverage(target(), { sampleSize: 1 });
      const records = report.tables.find((t) => t.table === 'public.records')!;
      expect(records.rowsInNoBucket).toBe(2);
      expect(records.samples.map((s) => s.id)).toEqual(['rec-ghost']);
      expect(report.usersWithoutBuckets?.count).toBe(0);
    } finally {
      await execSql(url, "DELETE FROM workspace_memberships WHERE id = 'm4'");
    }
  });
});

describe('coverage finds filters that never match because of types', () => {
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase('rules_insight_types');
    await execSql(
      url,
      `CREATE TABLE org_docs (id text PRIMARY KEY, org_code text NOT NULL, status text);
       CREATE TABLE team_members (id text PRIMARY KEY, member_no integer NOT NULL, team_id integer NOT NULL);
       CREATE TABLE team_notes (id text PRIMARY KEY, team_id text NOT NULL);
       CREATE PUBLICATION powersync FOR ALL TABLES;
       INSERT INTO org_docs VALUES ('d1', '42', 'open'), ('d2', '42', 'closed');
       INSERT INTO team_members VALUES ('t1', 7, 1);
       INSERT INTO team_notes VALUES ('n1', '1');`
    );
  });

  it('reports a text column compared with an integer claim, a number column with the user id, and text with a number', async () => {
    const rules = `bucket_definitions:
  by_org:
    parameters: SELECT request.jwt() ->> 'org_no' AS org
    data:
      - SELECT * FROM org_docs WHERE org_code = bucket.org AND status = 1
  by_team:
    parameters: SELECT team_id FROM team_members WHERE member_no = request.user_id()
    data:
      - SELECT * FROM team_notes WHERE team_id = bucket.team_id
`;
    const report = await readCoverage({ sourceUrl: url, syncRulesYaml: rules, extraClaims: { org_no: 42 } });
    expect(report.typeMismatches.map((m) => [m.line, m.message])).toEqual([
      [
        5,
        "org_docs.status (text) is compared with 1 (integer): sync rules compare text and number values as different ('42' is not 42), so this never matches"
      ],
      [
        5,
        "org_docs.org_code (text) is compared with bucket.org, which is the claim org_no (a number in extra_claims) (line 3): sync rules compare text and number values as different ('42' is not 42), so this never matches"
      ],
      [
        7,
        "team_members.member_no (integer) is compared with request.user_id() (text: the token subject): sync rules compare number and text values as different ('42' is not 42), so no user's request matches a row"
      ],
      [
        9,
        "team_notes.team_id (text) is compared with bucket.team_id, which comes from team_members.team_id (integer) (line 7): sync rules compare text and number values as different ('42' is not 42), so no row is ever in a bucket a user holds"
      ]
    ]);
    expect(report.tables.map((t) => [t.table, t.rows, t.rowsInNoBucket])).toEqual([
      ['public.org_docs', 2, 2],
      ['public.team_notes', 1, 1]
    ]);
  });

  it('a string claim matches the text column: no mismatch and every row is held', async () => {
    const rules = `bucket_definitions:
  by_org:
    parameters: SELECT request.jwt() ->> 'org_no' AS org
    data:
      - SELECT * FROM org_docs WHERE org_code = bucket.org
`;
    const report = await readCoverage({
      sourceUrl: url,
      syncRulesYaml: rules,
      extraClaims: { org_no: '42' }
    });
    expect(report.typeMismatches).toEqual([]);
    expect(report.tables).toMatchObject([{ table: 'public.org_docs', rows: 2, rowsInNoBucket: 0 }]);
  });
});
