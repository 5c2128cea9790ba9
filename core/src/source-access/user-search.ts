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

/**
 * Users of the configured users table by id prefix or email fragment, reading only its id and email
 * columns: read-only transaction, 2 s statement timeout, at most 10 rows. Names come from the targets
 * file, used quoted as written (no search_path, no case folding).
 */
export async function searchUsers(
  sourceUrl: string,
  search: UserSearchAccess,
  query: string
): Promise<SourceUser[]> {
  const client = new pg.Client({ connectionString: sourceUrl, statement_timeout: 2_000 });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const table = `${pg.escapeIdentifier(search.schema)}.${pg.escapeIdentifier(search.table)}`;
    const id = pg.escapeIdentifier(search.idColumn);
    const email = search.emailColumn ? pg.escapeIdentifier(search.emailColumn) : null;
    const { rows } = await client.query<SourceUser>(
      `SELECT ${id}::text AS id, ${email ? `${email}::text` : 'NULL::text'} AS email FROM ${table}
       WHERE ${id}::text LIKE $1 || '%' ${email ? `OR ${email}::text ILIKE '%' || $1 || '%'` : ''}
       ORDER BY 2 NULLS LAST, 1 LIMIT 10`,
      [query.replaceAll(/[%_\\]/g, (c) => `\\${c}`)]
    );
    return rows;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
  }
}
