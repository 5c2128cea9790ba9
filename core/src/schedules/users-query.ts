/**
 * A target's `schedule.users_query`: the SQL that lists its users for samples and sweeps. It is read a
 * page at a time (keyset pagination on `user_id`, so a million users are never in memory or in one
 * result), in a read-only transaction with a statement timeout, through the target's source connection
 * (the least-privilege role), and only when every table it names is one SyncScope may read: the sync
 * rules' tables or the `user_search` table (core/src/source-access/).
 */

import pg from 'pg';
import { astVisitor, parseFirst, type Statement } from 'pgsql-ast-parser';
import { SyncScopeError } from '../errors/index.ts';
import type { ProbeTarget } from '../probe/probe-types.ts';
import { ruleTableAccess, ruleTableFor, tableLabel } from '../source-access/source-access.ts';
import { cachedSyncRules } from '../sync-rules/cached-sync-rules.ts';
import { DEFAULT_SOURCE_SCHEMA } from '../sync-rules/load-sync-rules.ts';

export const USERS_QUERY_DEFAULT_TIMEOUT_MS = 10_000;
const EXAMPLE = 'e.g. `SELECT id AS user_id FROM users`';

export interface UsersQuerySource {
  target: string;
  sourceUrl: string;
  usersQuery: string;
  timeoutMs: number;
}

function invalid(target: string, problem: string, fix: string): SyncScopeError {
  return new SyncScopeError(
    'SYNCSCOPE_E_USERS_QUERY_INVALID',
    `Target "${target}": schedule.users_query ${problem}; ${fix}.`,
    { target }
  );
}

/** The tables a SELECT names (common table expressions aside), or the refusal when it is not one. */
function tablesNamed(target: string, sql: string): { schema: string; name: string }[] {
  let statement: Statement;
  try {
    statement = parseFirst(sql);
  } catch (error) {
    const first = (error as Error).message.split('\n')[0];
    throw invalid(
      target,
      `is not valid SQL (${first})`,
      `write one SELECT returning \`user_id\`, ${EXAMPLE}`
    );
  }
  if (!['select', 'with', 'union', 'union all', 'with recursive'].includes(statement.type))
    throw invalid(target, `is a ${statement.type.toUpperCase()} statement`, `write a SELECT, ${EXAMPLE}`);
  const ctes = new Set<string>();
  const tables: { schema: string; name: string }[] = [];
  astVisitor((visitor) => ({
    with: (w) => {
      for (const bound of w.bind) ctes.add(bound.alias.name);
      visitor.super().with(w);
    },
    tableRef: (t) => {
      if (!t.schema && ctes.has(t.name)) return;
      tables.push({ schema: t.schema ?? DEFAULT_SOURCE_SCHEMA, name: t.name });
    }
  })).statement(statement);
  return tables;
}

/**
 * Refuses a users_query that names a table outside the allowlist (SYNCSCOPE_E_TABLE_NOT_IN_RULES), before
 * anything connects; the source role's own grants refuse the rest (columns) when it runs.
 */
export function checkUsersQueryTables(target: ProbeTarget, sql: string): void {
  const rules = ruleTableAccess(cachedSyncRules(target.syncRulesYaml));
  const search = target.userSearch;
  for (const table of tablesNamed(target.name, sql)) {
    const isSearchTable = search && search.schema === table.schema && search.table === table.name;
    if (isSearchTable || ruleTableFor(rules, table.schema, table.name)) continue;
    const allowed = [...rules.map(tableLabel), ...(search ? [`${search.schema}.${search.table}`] : [])];
    throw new SyncScopeError(
      'SYNCSCOPE_E_TABLE_NOT_IN_RULES',
      `Target "${target.name}": schedule.users_query reads ${table.schema}.${table.name}, which neither the sync rules nor user_search read, so SyncScope does not read it. List users from one of: ${allowed.join(', ')} (or set user_search to the users table).`,
      { target: target.name, tables: allowed }
    );
  }
}

/** Postgres's refusal of the query, as our error naming the fix. */
function explainFailure(source: UsersQuerySource, error: unknown): unknown {
  const pgError = error as { code?: string; message?: string };
  const said = `Postgres said: ${pgError.message}`;
  switch (pgError.code) {
    case '57014':
      return new SyncScopeError(
        'SYNCSCOPE_E_USERS_QUERY_TIMEOUT',
        `Target "${source.target}": a page of schedule.users_query took over ${source.timeoutMs / 1000} s (statement timeout); pages are read in \`user_id\` order, so give its id column an index and avoid sorting a large join, or raise schedule.users_query_timeout_seconds.`,
        { target: source.target }
      );
    case '42703':
      return /user_id/.test(pgError.message ?? '')
        ? invalid(
            source.target,
            'returns no `user_id` column',
            `name the users' id column \`user_id\`, ${EXAMPLE}`
          )
        : invalid(source.target, `names a column its tables lack (${said})`, 'fix the column name');
    case '42601':
    case '42P01':
    case '42883':
    case '42804':
      return invalid(
        source.target,
        `cannot run (${said})`,
        `fix the query; it must return \`user_id\`, ${EXAMPLE}`
      );
    case '42501':
      return invalid(
        source.target,
        `reads something the source role may not (${said})`,
        'list users from the columns the sync rules or user_search read (`syncscope source-role` prints the grants)'
      );
    default:
      return error;
  }
}

/** One read-only transaction on the source, with the query's timeout; Postgres errors named. */
async function readIds(source: UsersQuerySource, sql: string, values: unknown[]): Promise<string[]> {
  const client = new pg.Client({
    connectionString: source.sourceUrl,
    statement_timeout: source.timeoutMs,
    connectionTimeoutMillis: 10_000
  });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const { rows } = await client.query<{ user_id: string }>(sql, values);
    return rows.map((row) => row.user_id);
  } catch (error) {
    throw explainFailure(source, error);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end().catch(() => {});
  }
}

/** The query as a subquery: a trailing semicolon would end the statement. */
const inner = (source: UsersQuerySource) => source.usersQuery.trim().replace(/;\s*$/, '');

/**
 * The next page of user ids after `after` (null: from the start), in the id column's own order, each
 * once. The comparison is on the column's own type, so an index on it serves every page.
 */
export function listUsersPage(
  source: UsersQuerySource,
  after: string | null,
  limit: number
): Promise<string[]> {
  return readIds(
    source,
    `SELECT user_id::text AS user_id FROM (${inner(source)}) AS users_query
     WHERE ($1::text IS NULL OR user_id > $2) GROUP BY user_id ORDER BY user_id LIMIT $3`,
    [after, after, limit]
  );
}

/** Which of these ids the query lists (users deleted since their last run are not probed again). */
export function usersAmong(source: UsersQuerySource, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return readIds(
    source,
    `SELECT user_id::text AS user_id FROM (${inner(source)}) AS users_query
     WHERE user_id::text = ANY($1::text[]) GROUP BY user_id`,
    [ids]
  );
}

/**
 * `count` distinct users drawn by a hash of their id and `seed` (the period): the same draw whoever
 * makes it, a different one every period. Postgres keeps only the best `count` while it scans.
 */
export function sampleUsers(source: UsersQuerySource, count: number, seed: string): Promise<string[]> {
  return readIds(
    source,
    `SELECT user_id::text AS user_id FROM (${inner(source)}) AS users_query
     GROUP BY user_id ORDER BY md5(user_id::text || $1) LIMIT $2`,
    [seed, count]
  );
}
