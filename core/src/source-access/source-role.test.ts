import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeExpectedState } from '../probe/expected/compute-expected-state.ts';
import { checkSourceRoleCanWrite } from '../probe/expected/source-role.ts';
import { explainRow } from '../probe/explain/explain-row.ts';
import { loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { readReference } from '../testing/reference.ts';
import { createTestDatabase, execSql } from '../testing/test-database.ts';
import { applySourceRole } from './apply-source-role.ts';
import { sourceAccessOf, userSearchAccess } from './source-access.ts';
import { resolveSourceGrants, sourceRoleScript } from './source-role-sql.ts';
import { lookupUsers, requireUserSearch, searchUsers } from './user-search.ts';

const RULES = loadSyncRules(`
bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT id, title AS name, workspace_id FROM records WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM categories WHERE workspace_id = bucket.workspace_id
`);
const ACCESS = sourceAccessOf(
  RULES,
  userSearchAccess({ table: 'users', id_column: 'id', email_column: 'email' })
);
const ROLE = 'syncscope_least';

function asRole(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

describe('the least-privilege source role', () => {
  let url: string;
  let roleUrl: string;
  beforeAll(async () => {
    url = await createTestDatabase('source_role_least');
    await execSql(url, readReference('seed.sql'));
    await execSql(
      url,
      "CREATE TABLE secrets (id text PRIMARY KEY, value text); INSERT INTO secrets VALUES ('s1', 'hunter2')"
    );
    await execSql(url, `DROP ROLE IF EXISTS ${ROLE}`);
    await applySourceRole(url, { role: ROLE, password: 'pw-one', access: ACCESS });
    roleUrl = asRole(url, ROLE, 'pw-one');
  });

  it('grants SELECT on the rules’ tables, columns where they read a subset (plus the key)', async () => {
    const { grants, missing } = await withClient(url, (c) => resolveSourceGrants(c, ACCESS));
    expect(missing).toEqual([]);
    expect(grants).toEqual(
      expect.arrayContaining([
        { schema: 'public', table: 'records', columns: ['ctid', 'id', 'title', 'workspace_id'] },
        { schema: 'public', table: 'categories', columns: 'all' },
        {
          schema: 'public',
          table: 'workspace_memberships',
          columns: ['ctid', 'id', 'user_id', 'workspace_id']
        },
        { schema: 'public', table: 'users', columns: ['email', 'id'] }
      ])
    );
    expect(grants).toHaveLength(4);
  });

  it('reads the rules’ columns, not other tables or columns, cannot write, and has the timeouts', async () => {
    await withClient(roleUrl, async (c) => {
      expect((await c.query("SELECT id, title, workspace_id FROM records WHERE id = 'rec-1'")).rows).toEqual([
        { id: 'rec-1', title: 'Record 1', workspace_id: 'ws-1' }
      ]);
      expect((await c.query("SELECT usage_count FROM categories WHERE id = 'cat-1-1'")).rowCount).toBe(1);
      await expect(c.query('SELECT amount FROM records')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT role FROM workspace_memberships')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT * FROM secrets')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT * FROM workspaces')).rejects.toThrow(/permission denied/);
      await expect(c.query('SELECT rolpassword FROM pg_authid')).rejects.toThrow(/permission denied/);
      await expect(c.query("DELETE FROM categories WHERE id = 'cat-1-1'")).rejects.toThrow(
        /read-only transaction/
      );
      await c.query('BEGIN READ WRITE');
      await expect(c.query("UPDATE categories SET name = 'x'")).rejects.toThrow(/permission denied/);
      await c.query('ROLLBACK');
      expect((await c.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('1min');
      expect(
        (await c.query('SHOW idle_in_transaction_session_timeout')).rows[0]
          .idle_in_transaction_session_timeout
      ).toBe('5min');
      expect(
        (await c.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only
      ).toBe('on');
    });
    const { rows } = await execSql(url, 'SELECT rolconfig FROM pg_roles WHERE rolname = $1', [ROLE]);
    expect(rows[0].rolconfig).toEqual([
      'default_transaction_read_only=on',
      'statement_timeout=60s',
      'idle_in_transaction_session_timeout=300s'
    ]);
  });

  it('is enough for the probe’s expected state and for explain, which read only those columns', async () => {
    const state = await computeExpectedState({ sourceUrl: roleUrl, rules: RULES, userId: 'u-alice' });
    expect(state.rows.size).toBe(12);
    expect(state.rows.get('records/rec-1')!.json).toBe(
      '{"id":"rec-1","name":"Record 1","workspace_id":"ws-1"}'
    );
    const trace = await explainRow({
      sourceUrl: roleUrl,
      rules: RULES,
      table: 'records',
      id: 'rec-1',
      userId: 'u-alice'
    });
    expect(trace.user?.holdsRow).toBe(true);
  });

  it('a TID-range part of a column-granted table can be read (the probe’s partitioned scans)', async () => {
    await withClient(roleUrl, async (c) => {
      const { rowCount } = await c.query("SELECT id FROM records WHERE ctid >= '(0,0)'::tid");
      expect(rowCount).toBeGreaterThan(0);
    });
  });

  it('the role check is quiet for it, and names what an over-privileged role can read or write', async () => {
    const userSearch = ACCESS.userSearch;
    expect(await checkSourceRoleCanWrite(roleUrl, RULES, userSearch)).toEqual({
      canWrite: false,
      reasons: [],
      readsBeyondRules: false,
      readReasons: []
    });
    await execSql(
      url,
      `DROP ROLE IF EXISTS broad_reader; CREATE ROLE broad_reader LOGIN PASSWORD 'b'; GRANT pg_read_all_data TO broad_reader`
    );
    const broad = await checkSourceRoleCanWrite(asRole(url, 'broad_reader', 'b'), RULES, userSearch);
    expect(broad.readReasons).toContain(
      'role "broad_reader" is a member of pg_read_all_data: it can read every table'
    );
    expect(broad.readReasons).toContain(
      'role "broad_reader" can read public.secrets, which the rules do not read'
    );
    expect(broad.readReasons).toContain(
      'role "broad_reader" can read public.records columns amount, category_id, created_at, which the rules do not read'
    );
  });

  it('re-applied after the rules change, it loses what the old rules read, column grants included', async () => {
    const role = 'syncscope_rerun';
    await execSql(url, `DROP ROLE IF EXISTS ${role}`);
    const wider = loadSyncRules(`
bucket_definitions:
  all_records:
    data:
      - SELECT id, amount FROM records
      - SELECT * FROM workspaces
`);
    await applySourceRole(url, { role, password: 'pw', access: sourceAccessOf(wider) });
    expect((await execSql(asRole(url, role, 'pw'), 'SELECT amount FROM records LIMIT 1')).rowCount).toBe(1);
    await applySourceRole(url, { role, password: 'pw', access: ACCESS });
    await expect(execSql(asRole(url, role, 'pw'), 'SELECT amount FROM records')).rejects.toThrow(
      /permission denied/
    );
    await expect(execSql(asRole(url, role, 'pw'), 'SELECT * FROM workspaces')).rejects.toThrow(
      /permission denied/
    );
    expect((await execSql(asRole(url, role, 'pw'), 'SELECT title FROM records LIMIT 1')).rowCount).toBe(1);
  });

  it('user search reads the configured table’s id and email as the role, and is refused without user_search', async () => {
    expect(await searchUsers(roleUrl, ACCESS.userSearch!, 'alice')).toEqual([
      { id: 'u-alice', email: 'alice@example.com' }
    ]);
    expect(await searchUsers(roleUrl, ACCESS.userSearch!, 'u-')).toHaveLength(3);
    // The console's labels: many ids in one query, as the same role; unknown ids are simply absent.
    const ids = ['u-bob', 'u-nobody', "u-alice' OR true --", 'u-alice', 'u-bob'];
    expect(await lookupUsers(roleUrl, ACCESS.userSearch!, ids)).toEqual(
      new Map([
        ['u-alice', 'alice@example.com'],
        ['u-bob', 'bob@example.com']
      ])
    );
    const { emailColumn: _, ...idOnly } = ACCESS.userSearch!;
    expect(await lookupUsers(roleUrl, idOnly, ids)).toEqual(new Map());
    expect(() => requireUserSearch({ name: 'prod' })).toThrow(
      expect.objectContaining({
        code: 'SYNCSCOPE_E_USER_SEARCH_UNCONFIGURED',
        message: expect.stringContaining('user_search')
      })
    );
  });

  it('prints the same statements for psql, with the password from a variable, never a literal', () => {
    const script = sourceRoleScript({
      target: 'prod',
      role: ROLE,
      database: 'app',
      grants: [{ schema: 'public', table: 'records', columns: ['id', 'title'] }],
      missing: ['public.gone'],
      passwordEnv: 'SYNCSCOPE_SOURCE_PASSWORD'
    });
    expect(script).toContain('\\set syncscope_source_password `printenv SYNCSCOPE_SOURCE_PASSWORD`');
    expect(script).toContain(`PASSWORD :'syncscope_source_password';`);
    expect(script).toContain(`GRANT SELECT ("id", "title") ON "public"."records" TO "${ROLE}";`);
    expect(script).toContain(`ALTER ROLE "${ROLE}" SET default_transaction_read_only = on;`);
    expect(script).toContain('-- public.gone: the rules read it but the source has no such table');
    expect(script).not.toMatch(/REPLICATION(?! )|GRANT .*pg_read_all_data/);
    // Replication health needs no monitoring grant: the script says so and grants none.
    expect(script).toContain('-- Replication health (syncscope agent) reads pg_replication_slots');
    expect(script).not.toMatch(/GRANT .*(pg_monitor|pg_read_all_stats|pg_read_all_settings)/);
  });
});
