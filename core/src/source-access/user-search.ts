import pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import type { UserSearchAccess } from './source-access.ts';

export interface SourceUser {
  id: string;
  email: string | null;
}

/** The targets file's key user search needs, refused by name when a target lacks it. */
export function requireUserSearch(target: { name: string; userSearch?: UserSearchAccess }): UserSearchAccess {
  if (target.userSearch) return target.userSearch;
  throw new SyncScopeError(
    'SYNCSCOPE_E_USER_SEARCH_UNCONFIGURED',
    `Target "${target.name}" has no user_search in the targets file, so SyncScope reads no users table. Add user_search: {table, id_column, email_column} (docs/targets.md), or type the user id.`
  );
}

/** Most ids one lookup reads: a page of the console lists at most this many users. */
export const MAX_LOOKUP_IDS = 500;

/**
 * One read-only transaction on the users table, as the target's source role: names come from the
 * targets file, used quoted as written (no search_path, no case folding); 2 s statement timeout.
 */
async function readUsers(
  sourceUrl: string,
  search: UserSearchAccess,
  query: (sql: { table: string; id: string; email: string }) => { text: string; values: unknown[] }
): Promise<SourceUser[]> {
  const client = new pg.Client({
    connectionString: sourceUrl,
    statement_timeout: 2_000,
    connectionTimeoutMillis: 2_000
  });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const email = search.emailColumn ? `${pg.escapeIdentifier(search.emailColumn)}::text` : 'NULL::text';
    const { text, values } = query({
      table: `${pg.escapeIdentifier(search.schema)}.${pg.escapeIdentifier(search.table)}`,
      id: `${pg.escapeIdentifier(search.idColumn)}::text`,
      email
    });
    return (await client.query<SourceUser>(text, values)).rows;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
  }
}

/**
 * Users of the configured users table by id prefix or email fragment, reading only its id and email
 * columns, at most 10 rows.
 */
export function searchUsers(
  sourceUrl: string,
  search: UserSearchAccess,
  query: string
): Promise<SourceUser[]> {
  return readUsers(sourceUrl, search, ({ table, id, email }) => ({
    text: `SELECT ${id} AS id, ${email} AS email FROM ${table}
       WHERE ${id} LIKE $1 || '%' ${search.emailColumn ? `OR ${email} ILIKE '%' || $1 || '%'` : ''}
       ORDER BY 2 NULLS LAST, 1 LIMIT 10`,
    values: [query.replaceAll(/[%_\\]/g, (c) => `\\${c}`)]
  }));
}

/**
 * The email (or whatever `email_column` names) of each of these user ids that the users table holds,
 * in one query, reading the same two columns: what the console shows beside an id. Ids it lacks, or
 * without an email, are absent from the map.
 */
export async function lookupUsers(
  sourceUrl: string,
  search: UserSearchAccess,
  ids: readonly string[]
): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)].slice(0, MAX_LOOKUP_IDS);
  if (wanted.length === 0 || !search.emailColumn) return new Map();
  const rows = await readUsers(sourceUrl, search, ({ table, id, email }) => ({
    text: `SELECT ${id} AS id, ${email} AS email FROM ${table} WHERE ${id} = ANY($1::text[]) AND ${email} IS NOT NULL`,
    values: [wanted]
  }));
  return new Map(rows.map((r) => [r.id, r.email!]));
}
