/**
 * The least-privilege source role for SyncScope: SELECT on the tables (columns, where the rules read a
 * subset) that a target's sync rules read, plus the user-search columns; read-only by default, with
 * role-level timeouts. Nothing for replication: this role is only for SyncScope's own reads.
 */
import pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import { scramSha256Verifier } from '../postgres/scram-verifier.ts';
import { withSourceSession } from '../probe/expected/source-session.ts';
import { describeSourceTable, findTables } from '../probe/expected/source-tables.ts';
import { type SourceAccess, type TableAccess, tableLabel } from './source-access.ts';

type Queryable = Pick<pg.Client, 'query'>;

/** One table's grant: the whole table, or these columns. */
export interface SourceGrant {
  schema: string;
  table: string;
  columns: 'all' | string[];
}

export const SOURCE_ROLE_TIMEOUTS = { statementTimeout: '60s', idleInTransactionSessionTimeout: '300s' };

/** The rules' tables as the source has them: wildcards matched, key columns added to column grants. */
export async function resolveSourceGrants(
  client: Queryable,
  access: SourceAccess
): Promise<{ grants: SourceGrant[]; missing: string[] }> {
  const grants = new Map<string, SourceGrant>();
  const missing: string[] = [];
  const add = (schema: string, table: string, columns: 'all' | string[]) => {
    const key = `${schema}.${table}`;
    const had = grants.get(key);
    const merged =
      had?.columns === 'all' || columns === 'all'
        ? 'all'
        : [...new Set([...(had?.columns ?? []), ...columns])].sort();
    grants.set(key, { schema, table, columns: merged });
  };
  const userSearch: TableAccess[] = access.userSearch
    ? [
        {
          schema: access.userSearch.schema,
          table: access.userSearch.table,
          wildcard: false,
          columns: [
            access.userSearch.idColumn,
            ...(access.userSearch.emailColumn ? [access.userSearch.emailColumn] : [])
          ]
        }
      ]
    : [];
  for (const wanted of [...access.tables, ...userSearch]) {
    const rows = await findTables(client, {
      schema: wanted.schema,
      name: wanted.table,
      wildcard: wanted.wildcard
    });
    if (rows.length === 0) missing.push(tableLabel(wanted));
    for (const row of rows) {
      if (wanted.columns === 'all') {
        add(row.schema, row.name, 'all');
        continue;
      }
      const info = await describeSourceTable(client, row, 'default');
      const names = new Set(info.columns.map((c) => c.name));
      // The key columns identify a row (replica identity), so the probe reads them with the rules' columns;
      // ctid (a row's place, no data) lets a large table's scan be split into page ranges.
      const columns = [...wanted.columns, ...info.keyColumns].filter((c) => names.has(c));
      add(row.schema, row.name, access.tables.includes(wanted) ? [...columns, 'ctid'] : columns);
    }
  }
  return { grants: [...grants.values()], missing };
}

/** The grants for `access` as the source at `sourceUrl` has its tables (catalog reads only), and its database. */
export function sourceGrantsAt(
  sourceUrl: string,
  access: SourceAccess
): Promise<{ grants: SourceGrant[]; missing: string[]; database: string }> {
  return withSourceSession(sourceUrl, { statementTimeoutMs: 30_000 }, async ({ client }) => {
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    return { ...(await resolveSourceGrants(client, access)), database: rows[0]!.db };
  });
}

/** How the role's password is set: a literal (only ever executed, never printed) or a psql variable. */
export type SourceRolePassword = { literal: string } | { psqlVariable: string };

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The statements, in order. Idempotent: re-running after the rules change revokes what the role could
 * read in those schemas and grants the new set; a role from an older SyncScope loses pg_read_all_data.
 */
export function sourceRoleStatements(input: {
  role: string;
  database: string;
  grants: SourceGrant[];
  password: SourceRolePassword;
}): string[] {
  if (!ROLE_NAME.test(input.role)) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_SOURCE_ROLE_UNSUPPORTED',
      `"${input.role}" is not a role name SyncScope generates: use lower-case letters, digits and _ (at most 63).`
    );
  }
  const role = pg.escapeIdentifier(input.role);
  const password =
    'literal' in input.password
      ? pg.escapeLiteral(scramSha256Verifier(input.password.literal))
      : `:'${input.password.psqlVariable}'`;
  const schemas = [...new Set(input.grants.map((g) => g.schema))].sort();
  const grants = input.grants.map((g) => {
    const table = `${pg.escapeIdentifier(g.schema)}.${pg.escapeIdentifier(g.table)}`;
    if (g.columns === 'all') return `GRANT SELECT ON ${table} TO ${role};`;
    return `GRANT SELECT (${g.columns.map((c) => pg.escapeIdentifier(c)).join(', ')}) ON ${table} TO ${role};`;
  });
  // A role that exists is updated; concurrent runs (two stacks starting) may race on CREATE ROLE.
  return [
    `DO $$ BEGIN CREATE ROLE ${role} LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;`,
    `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${password};`,
    `ALTER ROLE ${role} SET default_transaction_read_only = on;`,
    `ALTER ROLE ${role} SET statement_timeout = '${SOURCE_ROLE_TIMEOUTS.statementTimeout}';`,
    `ALTER ROLE ${role} SET idle_in_transaction_session_timeout = '${SOURCE_ROLE_TIMEOUTS.idleInTransactionSessionTimeout}';`,
    // Before Postgres 14 there is no pg_read_all_data to revoke.
    `DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg_read_all_data') THEN REVOKE pg_read_all_data FROM ${role}; END IF; END $$;`,
    `GRANT CONNECT ON DATABASE ${pg.escapeIdentifier(input.database)} TO ${role};`,
    ...schemas.map((s) => `REVOKE ALL ON ALL TABLES IN SCHEMA ${pg.escapeIdentifier(s)} FROM ${role};`),
    ...schemas.map((s) => `GRANT USAGE ON SCHEMA ${pg.escapeIdentifier(s)} TO ${role};`),
    ...grants
  ];
}

/**
 * Replication health reads pg_replication_slots and pg_current_wal_lsn(), which Postgres lets every role
 * read: no monitoring grant is added (tested as this role in core/src/replication-health/).
 */
export const REPLICATION_HEALTH_NOTE = [
  '-- Replication health (syncscope agent) reads pg_replication_slots and pg_current_wal_lsn() as this role:',
  '-- every role may, so nothing is granted for it (no pg_monitor, no replication attribute; it cannot touch a slot).'
];

/** The script `syncscope source-role` prints, for psql (its password comes from a psql variable). */
export function sourceRoleScript(input: {
  target: string;
  role: string;
  database: string;
  grants: SourceGrant[];
  missing: string[];
  passwordEnv?: string;
}): string {
  const variable = 'syncscope_source_password';
  const header = [
    `-- Least-privilege source role for SyncScope target "${input.target}": it reads only what the target's`,
    '-- sync rules read (and the user-search columns), cannot write, and has statement and idle timeouts.',
    "-- It needs nothing for replication: it is only for SyncScope. Run as a superuser or the tables' owner:",
    input.passwordEnv
      ? `--   ${input.passwordEnv}=… psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f this.sql`
      : `--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -v ${variable}="…" -f this.sql`,
    "-- Re-run it after the rules change: it revokes the role's other table grants in these schemas.",
    ...REPLICATION_HEALTH_NOTE,
    ...input.missing.map((m) => `-- ${m}: the rules read it but the source has no such table (no grant).`)
  ];
  const password = input.passwordEnv ? [`\\set ${variable} \`printenv ${input.passwordEnv}\``] : [];
  const statements = sourceRoleStatements({
    ...input,
    password: { psqlVariable: variable }
  });
  return `${[...header, ...password, ...statements].join('\n')}\n`;
}
