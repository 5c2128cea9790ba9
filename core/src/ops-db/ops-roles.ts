import pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import { scramSha256Verifier } from '../postgres/scram-verifier.ts';
import { migrateOpsDatabase } from './ops-database.ts';
import { OPS_ROLE_NAMES, type OpsRole } from './ops-role-names.ts';

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/**
 * What the console and the agents (and the CLI, which connects as the agent) may do to each table of
 * schema `syncscope`, found from the queries their code runs. A table a migration adds must be listed
 * here: setup refuses a table without an entry (SYNCSCOPE_E_OPS_GRANTS_MISSING). The audit log is
 * INSERT and SELECT only, for both; nobody but the owner may change or drop anything.
 */
export const OPS_TABLE_GRANTS: Record<string, Record<'console' | 'agent', Privilege[]>> = {
  audit_log: { console: ['SELECT', 'INSERT'], agent: ['SELECT', 'INSERT'] },
  audit_chain_head: { console: ['SELECT'], agent: ['SELECT'] },
  // Agents store runs, compact consistent ones stored whole before migration 14 (UPDATE) and prune runs,
  // and the finished jobs that name them, past the retention (DELETE: core/src/fleet-results/).
  probe_runs: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
  // Agents also insert the jobs of the schedules they expand (core/src/schedules/).
  probe_jobs: { console: ['SELECT', 'INSERT'], agent: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
  // Rolled up by the transaction that stores a run (agents); the fleet view reads them.
  probe_run_hourly: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE'] },
  probe_run_hourly_differences: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE'] },
  // Console users, grants and ingest keys are changed by the console's admin pages and by the CLI as the
  // owner, never by an agent: a compromised agent host must not make itself a console admin.
  console_users: { console: ['SELECT', 'INSERT', 'UPDATE'], agent: [] },
  console_grants: { console: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], agent: [] },
  console_sessions: { console: ['SELECT', 'INSERT', 'DELETE'], agent: [] },
  login_failures: { console: ['SELECT', 'INSERT', 'DELETE'], agent: [] },
  ingest_keys: { console: ['SELECT'], agent: [] },
  upload_error_groups: { console: ['SELECT', 'INSERT', 'UPDATE'], agent: [] },
  upload_error_hourly: { console: ['SELECT', 'INSERT', 'UPDATE'], agent: [] },
  upload_errors: { console: ['SELECT', 'INSERT'], agent: [] },
  upload_error_streaks: { console: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], agent: ['SELECT'] },
  inspected_databases: { console: ['SELECT', 'INSERT', 'DELETE'], agent: [] },
  // Agents upsert the latest reading per target (the upsert's WHERE reads the stored time); the console reads.
  replication_health: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE'] },
  // Agents hold canaries and sweep targets; the console's fleet view reads both.
  canary_status: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
  target_population: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE'] },
  // Agents expand schedules into jobs, one period page at a time; the console may show where they stand.
  schedule_periods: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'UPDATE'] },
  // Agents store each bucket-budget reading, read the earlier ones for trends and prune the old; the
  // console's budgets tab reads them.
  bucket_budget_runs: { console: ['SELECT'], agent: ['SELECT', 'INSERT', 'DELETE'] }
};

/**
 * Tables whose INSERT is granted on these columns only: an audit entry's content. Its id, time, chain place
 * and hashes come from the database, so an app role cannot take an id the sequence will hand out later
 * (which would make that later audit write fail).
 */
const INSERT_COLUMNS: Record<string, string[]> = {
  audit_log: ['actor', 'action', 'target', 'subject_user', 'reason', 'details']
};

const id = pg.escapeIdentifier;

/** `url` on another database (same credentials, host, port and options such as sslmode). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** `url` with another user and password (and the same host, port and database). */
export function withCredentials(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Login roles without any attribute beyond LOGIN; passwords set (again) every time. */
async function ensureRoles(client: pg.Client, passwords: Record<OpsRole, string>): Promise<void> {
  // Roles are cluster-wide: setups of several databases at once must not race on CREATE ROLE.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['syncscope-ops-roles']);
  for (const role of Object.keys(OPS_ROLE_NAMES) as OpsRole[]) {
    const name = OPS_ROLE_NAMES[role];
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    if (!rowCount) await client.query(`CREATE ROLE ${id(name)}`);
    await client.query(
      `ALTER ROLE ${id(name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
       PASSWORD ${pg.escapeLiteral(scramSha256Verifier(passwords[role]))}`
    );
  }
}

/**
 * Makes the owner role own the database, schema `syncscope` and every object in it (databases migrated
 * as a superuser before roles existed included): only an owner (or superuser) can ALTER, DROP, TRUNCATE
 * or disable triggers, so the app roles never can.
 */
async function transferOwnership(client: pg.Client, database: string): Promise<void> {
  const owner = id(OPS_ROLE_NAMES.owner);
  await client.query(`ALTER DATABASE ${id(database)} OWNER TO ${owner}`);
  await client.query(`REVOKE ALL ON DATABASE ${id(database)} FROM PUBLIC`);
  // Postgres before 15 let everyone create in public; the owner keeps that for node-pg-migrate's table.
  await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  await client.query(`GRANT CREATE ON SCHEMA public TO ${owner}`);
  await client.query(`CREATE SCHEMA IF NOT EXISTS syncscope AUTHORIZATION ${owner}`);
  await client.query(`ALTER SCHEMA syncscope OWNER TO ${owner}`);
  const { rows } = await client.query<{ sql: string }>(
    `SELECT format('ALTER %s %s OWNER TO %I',
        CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END,
        c.oid::regclass, $1::text) AS sql
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE (n.nspname = 'syncscope' OR (n.nspname = 'public' AND c.relname = 'pgmigrations'))
       AND c.relkind IN ('r', 'p', 'v', 'S') AND pg_get_userbyid(c.relowner) <> $1
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
     UNION ALL
     SELECT format('ALTER FUNCTION %s OWNER TO %I', p.oid::regprocedure, $1::text)
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'syncscope' AND pg_get_userbyid(p.proowner) <> $1`,
    [OPS_ROLE_NAMES.owner]
  );
  for (const { sql } of rows) await client.query(sql);
}

/** Grants exactly OPS_TABLE_GRANTS (everything else revoked), and the sequences of tables a role inserts into. */
async function grantTablePrivileges(client: pg.Client, database: string): Promise<void> {
  const { rows } = await client.query<{ table: string }>(
    `SELECT tablename AS table FROM pg_tables WHERE schemaname = 'syncscope' ORDER BY tablename`
  );
  const ungranted = rows.map((r) => r.table).filter((table) => !OPS_TABLE_GRANTS[table]);
  if (ungranted.length > 0)
    throw new SyncScopeError(
      'SYNCSCOPE_E_OPS_GRANTS_MISSING',
      `Tables ${ungranted.join(', ')} in schema syncscope have no entry in OPS_TABLE_GRANTS (core/src/ops-db/ops-roles.ts).`
    );
  for (const role of ['console', 'agent'] as const) {
    const name = id(OPS_ROLE_NAMES[role]);
    await client.query(`GRANT CONNECT ON DATABASE ${id(database)} TO ${name}`);
    await client.query(`GRANT USAGE ON SCHEMA syncscope TO ${name}`);
    await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA syncscope FROM ${name}`);
    await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA syncscope FROM ${name}`);
    // migrateOpsDatabase finds nothing to do when it may read the applied migrations.
    await client.query(`GRANT SELECT ON public.pgmigrations TO ${name}`);
    for (const { table } of rows) {
      const privileges = OPS_TABLE_GRANTS[table]![role];
      if (privileges.length === 0) continue;
      const columns = INSERT_COLUMNS[table];
      const tableWide = columns ? privileges.filter((p) => p !== 'INSERT') : privileges;
      if (tableWide.length > 0)
        await client.query(`GRANT ${tableWide.join(', ')} ON syncscope.${id(table)} TO ${name}`);
      if (!privileges.includes('INSERT')) continue;
      if (columns)
        await client.query(
          `GRANT INSERT (${columns.map(id).join(', ')}) ON syncscope.${id(table)} TO ${name}`
        );
      const { rows: seqs } = await client.query<{ seq: string | null }>(
        `SELECT pg_get_serial_sequence($1, a.attname) AS seq FROM pg_attribute a
         WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
        [`syncscope.${id(table)}`]
      );
      for (const { seq } of seqs) if (seq) await client.query(`GRANT USAGE ON SEQUENCE ${seq} TO ${name}`);
    }
  }
}

/**
 * Creates the ops database when the server lacks it (compose's init script and `npm start` create theirs;
 * a bring-your-own Postgres may not have it yet). `serverUrl` names no database; the check connects to
 * `postgres`. Returns whether it created it.
 */
export async function createOpsDatabaseIfMissing(serverUrl: string, database: string): Promise<boolean> {
  return withClient(withDatabase(serverUrl, 'postgres'), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${id(database)}`);
    return true;
  });
}

/**
 * Sets up SyncScope's ops database with least privilege; idempotent, run as a superuser at every start
 * (`npm start`, compose's setup service). Creates the roles (passwords updated), hands the database,
 * schema and every object to the owner role, runs the migrations as that owner, then grants the
 * console and agent roles exactly OPS_TABLE_GRANTS. Returns each role's URL to the database.
 */
export async function setupOpsDatabase(input: {
  superuserUrl: string;
  passwords: Record<OpsRole, string>;
}): Promise<{ urls: Record<OpsRole, string>; applied: string[] }> {
  const database = decodeURIComponent(new URL(input.superuserUrl).pathname.slice(1));
  const urls = Object.fromEntries(
    (Object.keys(OPS_ROLE_NAMES) as OpsRole[]).map((role) => [
      role,
      withCredentials(input.superuserUrl, OPS_ROLE_NAMES[role], input.passwords[role])
    ])
  ) as Record<OpsRole, string>;
  await withClient(input.superuserUrl, async (client) => {
    await client.query('BEGIN');
    await ensureRoles(client, input.passwords);
    await transferOwnership(client, database);
    await client.query('COMMIT');
  });
  const applied = await migrateOpsDatabase(urls.owner);
  await withClient(input.superuserUrl, async (client) => {
    await client.query('BEGIN');
    await grantTablePrivileges(client, database);
    await client.query('COMMIT');
  });
  return { urls, applied };
}
