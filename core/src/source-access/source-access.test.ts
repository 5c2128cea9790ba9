import { beforeAll, describe, expect, it } from 'vitest';
import { SyncScopeError } from '../errors/index.ts';
import { explainRow } from '../probe/explain/explain-row.ts';
import { loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { readReference } from '../testing/reference.ts';
import { createTestDatabase, execSql } from '../testing/test-database.ts';
import { columnsReadByRules } from './rule-columns.ts';
import { ruleTableAccess } from './source-access.ts';

/** The reference rules with `records` read for a subset of its columns. */
const SUBSET_RULES = `
bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT id, title AS name, workspace_id FROM records WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM categories WHERE workspace_id = bucket.workspace_id
`;

async function refusal(promise: Promise<unknown>): Promise<SyncScopeError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e
  );
  expect(error).toBeInstanceOf(SyncScopeError);
  return error as SyncScopeError;
}

describe('the tables and columns the rules read', () => {
  it('reads output and filter columns of data queries, parameter columns, and stream subqueries', () => {
    const { columns } = columnsReadByRules(`${SUBSET_RULES}
streams:
  shared:
    query: SELECT * FROM notes n WHERE n.list_id IN (SELECT l.id FROM lists l WHERE l.owner_id = auth.user_id())
`);
    expect(Object.fromEntries([...columns].map(([t, c]) => [t, c === 'all' ? c : [...c].sort()]))).toEqual({
      'public.workspace_memberships': ['user_id', 'workspace_id'],
      'public.records': ['id', 'title', 'workspace_id'],
      'public.categories': 'all',
      'public.notes': 'all',
      'public.lists': ['id', 'owner_id']
    });
  });

  it('reads through a stream’s with: tables, aliases and joins, and event payloads', () => {
    const { columns } = columnsReadByRules(`
streams:
  mine:
    with:
      owned: SELECT id FROM lists WHERE owner_id = auth.user_id()
    query: SELECT t.id, t.body FROM todos t WHERE t.list_id IN (SELECT id FROM owned)
event_definitions:
  audit:
    payloads:
      - SELECT id, kind FROM changes
`);
    expect(Object.fromEntries([...columns].map(([t, c]) => [t, c === 'all' ? c : [...c].sort()]))).toEqual({
      'public.lists': ['id', 'owner_id'],
      'public.todos': ['body', 'id', 'list_id'],
      'public.changes': ['id', 'kind']
    });
  });

  it('lists the rules library’s tables with those columns', () => {
    const tables = ruleTableAccess(loadSyncRules(SUBSET_RULES));
    expect(tables).toEqual(
      expect.arrayContaining([
        { schema: 'public', table: 'records', wildcard: false, columns: ['id', 'title', 'workspace_id'] },
        { schema: 'public', table: 'categories', wildcard: false, columns: 'all' }
      ])
    );
  });
});

describe('explain reads only what the rules read', () => {
  let url: string;
  const rules = loadSyncRules(SUBSET_RULES);
  beforeAll(async () => {
    url = await createTestDatabase('source_access_explain');
    await execSql(url, readReference('seed.sql'));
    await execSql(
      url,
      "CREATE TABLE secrets (id text PRIMARY KEY, value text); INSERT INTO secrets VALUES ('s1', 'hunter2')"
    );
  });

  const attacks = [
    ['pg_catalog.pg_authid', '10'],
    ['information_schema.tables', 'records'],
    ['secrets', 's1'],
    ['public.secrets', 's1'],
    ['users', 'u-alice'],
    ['"public"."records"', 'rec-1'],
    ['PUBLIC.records', 'rec-1'],
    ['Records', 'rec-1'],
    ['public.records; SELECT 1', 'rec-1'],
    ['pg_temp.records', 'rec-1']
  ] as const;
  for (const [table, id] of attacks) {
    it(`refuses ${table} before connecting`, async () => {
      // An unreachable source: the refusal must come before any query.
      const error = await refusal(
        explainRow({ sourceUrl: 'postgres://nobody@127.0.0.1:1/none', rules, table, id })
      );
      expect(error.code).toBe('SYNCSCOPE_E_TABLE_NOT_IN_RULES');
      expect(error.message).toContain('public.records');
      expect(error.message).not.toContain('hunter2');
    });
  }

  it('shows only the columns the rules read (amount is not synced)', async () => {
    const trace = await explainRow({
      sourceUrl: url,
      rules,
      table: 'records',
      id: 'rec-1',
      userId: 'u-alice'
    });
    expect(trace.found).toBe(true);
    expect(trace.row).toEqual({ id: 'rec-1', title: 'Record 1', workspace_id: 'ws-1' });
    expect(JSON.stringify(trace)).not.toContain('12.345');
    expect(trace.user?.holdsRow).toBe(true);
    const evidence = trace.queries[0]!.buckets[0]!.holders.parameterRows[0]!;
    // The membership's role column is not read by the parameter query, so it is not shown.
    expect(Object.keys(evidence.values).sort()).toEqual(['id', 'user_id', 'workspace_id']);
  });

  it('still reads a table the rules read whole, by its output name too', async () => {
    const trace = await explainRow({ sourceUrl: url, rules, table: 'public.categories', id: 'cat-1-1' });
    expect(trace.row).toMatchObject({ id: 'cat-1-1', usage_count: '11' });
  });
});
