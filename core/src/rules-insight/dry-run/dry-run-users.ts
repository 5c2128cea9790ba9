/**
 * The users a dry run compares, read in its snapshot as the source role: a query's ids, a random sample,
 * or every user of the target's users table (`user_search`) or `schedule.users_query`, a page at a time.
 */
import pg from 'pg';
import { SyncScopeError } from '../../errors/index.ts';
import type { UserSelection } from './dry-run-report.ts';
import type { DryRunTarget } from './validate-draft.ts';

type Queryable = Pick<pg.Client, 'query'>;

export const USERS_PAGE_SIZE = 1000;

const inputError = (message: string) => new SyncScopeError('SYNCSCOPE_E_DRY_RUN_INPUT', message);

/** The SQL listing the target's users as `user_id`, and where it comes from (for the report). */
export function userSourceOf(target: DryRunTarget): { sql: string; from: string } {
  const search = target.userSearch;
  if (search) {
    const table = `${pg.escapeIdentifier(search.schema)}.${pg.escapeIdentifier(search.table)}`;
    return {
      sql: `SELECT ${pg.escapeIdentifier(search.idColumn)}::text AS user_id FROM ${table}`,
      from: `user_search ${search.schema}.${search.table}`
    };
  }
  const query = target.schedule?.usersQuery?.trim().replace(/;\s*$/, '');
  if (query)
    return { sql: `SELECT user_id::text AS user_id FROM (${query}) AS q`, from: 'schedule.users_query' };
  throw inputError(
    `Target "${target.name}" has neither user_search nor schedule.users_query, so the dry run cannot list its users. Pass --users 'SELECT id FROM users' (any query returning user ids), or add user_search to the target (docs/targets.md).`
  );
}

/** The selection as the report records it (`all` names its source). */
export function resolvedSelection(target: DryRunTarget, selection?: UserSelection): UserSelection {
  if (!selection || selection.kind === 'all') return { kind: 'all', from: userSourceOf(target).from };
  if (selection.kind === 'sample' && !(Number.isInteger(selection.size) && selection.size > 0))
    throw inputError(
      `The sample size must be a positive whole number, not ${selection.size}: e.g. --sample 50.`
    );
  return selection;
}

/** Calls `onPage` with the selected user ids, at most USERS_PAGE_SIZE at a time. */
export async function forEachUserPage(
  client: Queryable,
  target: DryRunTarget,
  selection: UserSelection,
  onPage: (ids: string[]) => Promise<void>
): Promise<void> {
  if (selection.kind === 'query') {
    const ids = await runUsersQuery(client, selection.sql);
    for (let i = 0; i < ids.length; i += USERS_PAGE_SIZE) await onPage(ids.slice(i, i + USERS_PAGE_SIZE));
    return;
  }
  const { sql } = userSourceOf(target);
  if (selection.kind === 'sample') {
    const { rows } = await client.query<{ user_id: string }>(
      `SELECT user_id FROM (${sql}) AS users WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY random() LIMIT $1`,
      [selection.size]
    );
    await onPage(rows.map((r) => r.user_id));
    return;
  }
  let after: string | null = null;
  for (;;) {
    const { rows }: { rows: { user_id: string }[] } = await client.query(
      `SELECT user_id FROM (${sql}) AS users WHERE user_id IS NOT NULL AND ($1::text IS NULL OR user_id > $1)
       GROUP BY user_id ORDER BY user_id LIMIT $2`,
      [after, USERS_PAGE_SIZE]
    );
    if (rows.length > 0) await onPage(rows.map((r) => r.user_id));
    if (rows.length < USERS_PAGE_SIZE) return;
    after = rows[rows.length - 1]!.user_id;
  }
}

/** `--users QUERY`: its `user_id` column, else its first; each id once, in the query's order. */
async function runUsersQuery(client: Queryable, sql: string): Promise<string[]> {
  let result: pg.QueryResult<Record<string, unknown>>;
  try {
    result = await client.query(`SELECT * FROM (${sql.trim().replace(/;\s*$/, '')}) AS users_query`);
  } catch (error) {
    throw inputError(
      `The users query failed: ${(error as Error).message}. Write one SELECT returning user ids (e.g. SELECT user_id FROM workspace_memberships WHERE workspace_id = 'ws-1'), reading only tables the source role may read.`
    );
  }
  const column = result.fields.find((f) => f.name === 'user_id')?.name ?? result.fields[0]?.name;
  if (!column)
    throw inputError('The users query returns no column: return the user ids, e.g. SELECT id FROM users.');
  const ids = result.rows.map((r) => r[column]).filter((v) => v !== null && v !== undefined);
  return [...new Set(ids.map(String))];
}
