import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, execSql } from '../testing/test-database.ts';
import { verifyAuditChain } from './audit-chain.ts';
import { appendAudit, migrateOpsDatabase } from './ops-database.ts';
import { OPS_ROLE_NAMES, type OpsRole } from './ops-role-names.ts';
import { setupOpsDatabase } from './ops-roles.ts';

const passwords: Record<OpsRole, string> = {
  owner: 'owner-pw-1',
  console: 'console-pw-1',
  agent: 'agent-pw-1'
};

let superuserUrl: string;
let urls: Record<OpsRole, string>;

beforeAll(async () => {
  // A database migrated by the superuser before roles existed, with an entry already in the audit log.
  superuserUrl = await createTestDatabase('ops_roles');
  await migrateOpsDatabase(superuserUrl);
  await execSql(superuserUrl, "INSERT INTO syncscope.audit_log (actor, action) VALUES ('cli', 'user.added')");
  ({ urls } = await setupOpsDatabase({ superuserUrl, passwords }));
});

/** The statements an attacker holding the app role's password would try on the audit log. */
const TAMPERING = [
  "UPDATE syncscope.audit_log SET reason = 'covered up'",
  'DELETE FROM syncscope.audit_log',
  'TRUNCATE syncscope.audit_log',
  'ALTER TABLE syncscope.audit_log ADD COLUMN note text',
  'ALTER TABLE syncscope.audit_log DISABLE TRIGGER audit_log_no_update_or_delete',
  'ALTER TABLE syncscope.audit_log DISABLE TRIGGER ALL',
  'SET session_replication_role = replica',
  'DROP TRIGGER audit_log_chain ON syncscope.audit_log',
  'DROP TABLE syncscope.audit_log',
  'CREATE TABLE syncscope.shadow (id int)',
  'CREATE TABLE public.shadow (id int)',
  "UPDATE syncscope.audit_chain_head SET hash = '\\x00'",
  'ALTER FUNCTION syncscope.audit_log_chain() SECURITY INVOKER',
  'CREATE SCHEMA elsewhere'
];

describe.each(['console', 'agent'] as const)('the %s role on the ops database', (role) => {
  it.each(TAMPERING)('is refused: %s', async (sql) => {
    await expect(execSql(urls[role], sql)).rejects.toThrow(/permission denied|must be owner/);
  });

  it('appends to the audit log and reads it, and the chain stays intact', async () => {
    const pool = new pg.Pool({ connectionString: urls[role], max: 1 });
    try {
      await appendAudit(pool, { actor: role, action: 'probe.requested', reason: 'as the app role' });
      const verdict = await verifyAuditChain(pool);
      expect(verdict.intact).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('finds nothing to migrate (it may read the applied migrations, not change the schema)', async () => {
    await expect(migrateOpsDatabase(urls[role])).resolves.toEqual([]);
  });
});

describe.each(['console', 'agent'] as const)('the %s role writes only an audit entry’s content', (role) => {
  it('cannot choose an id, time, chain place or hash (an id taken ahead would make a later audit fail)', async () => {
    for (const column of ['id', 'at', 'seq', 'prev_hash', 'hash']) {
      const value = column === 'at' ? 'now()' : column === 'id' || column === 'seq' ? '999999' : "'\\x00'";
      await expect(
        execSql(
          urls[role],
          `INSERT INTO syncscope.audit_log (actor, action, ${column}) VALUES ('x', 'user.added', ${value})`
        )
      ).rejects.toThrow(/permission denied/);
    }
  });
});

describe('the agent role cannot administer the console', () => {
  // Every agent host holds this role's password: it must not be able to make itself a console admin.
  it.each([
    "INSERT INTO syncscope.console_users (email, password_hash) VALUES ('mallory@example.com', 'x')",
    "UPDATE syncscope.console_users SET password_hash = 'x'",
    "INSERT INTO syncscope.console_grants (user_id, target, role) SELECT id, NULL, 'admin' FROM syncscope.console_users",
    'DELETE FROM syncscope.console_grants',
    "INSERT INTO syncscope.ingest_keys (target, label, key_sha256, created_by) VALUES ('demo', 'x', '\\x00', 'agent')",
    'SELECT email FROM syncscope.console_users'
  ])('is refused: %s', async (sql) => {
    await expect(execSql(urls.agent, sql)).rejects.toThrow(/permission denied/);
  });
});

describe('setting up the ops database', () => {
  it('gives the schema, every table and every function to the owner role', async () => {
    const { rows } = await execSql(
      superuserUrl,
      `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'syncscope'
       UNION SELECT DISTINCT pg_get_userbyid(proowner) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'syncscope'
       UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'syncscope'`
    );
    expect(rows.map((r) => r.owner)).toEqual([OPS_ROLE_NAMES.owner]);
  });

  it('is idempotent and keeps the roles without any attribute beyond LOGIN', async () => {
    await setupOpsDatabase({ superuserUrl, passwords });
    const { rows } = await execSql(
      superuserUrl,
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles
       WHERE rolname = ANY($1) ORDER BY rolname`,
      [Object.values(OPS_ROLE_NAMES)]
    );
    expect(rows).toHaveLength(3);
    for (const row of rows)
      expect([
        row.rolsuper,
        row.rolcreaterole,
        row.rolcreatedb,
        row.rolreplication,
        row.rolbypassrls
      ]).toEqual([false, false, false, false, false]);
  });

  it('refuses a table that a migration added without grants for the console and agent roles', async () => {
    await execSql(urls.owner, 'CREATE TABLE syncscope.forgotten (id int)');
    try {
      await expect(setupOpsDatabase({ superuserUrl, passwords })).rejects.toMatchObject({
        code: 'SYNCSCOPE_E_OPS_GRANTS_MISSING',
        message: expect.stringContaining('forgotten')
      });
    } finally {
      await execSql(urls.owner, 'DROP TABLE syncscope.forgotten');
    }
  });
});
