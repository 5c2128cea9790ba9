import type pg from 'pg';
import { describeSourceTable } from '../probe/expected/source-tables.ts';
import { ruleTableFor, type SourceAccess } from './source-access.ts';

type Queryable = Pick<pg.Client, 'query'>;

/**
 * What the connected role can read beyond the rules' tables and columns (and the user-search columns):
 * one sentence each, e.g. `role "app" is a member of pg_read_all_data: it can read every table`. System
 * catalogs are left out: every role reads them, and SyncScope refuses them itself.
 */
export async function readsBeyondRules(client: Queryable, access: SourceAccess): Promise<string[]> {
  const reasons: string[] = [];
  const { rows: me } = await client.query<{ name: string; superuser: string; members: string }>(
    `SELECT current_user AS name, rolsuper::text AS superuser,
            (SELECT coalesce(json_agg(r.rolname ORDER BY r.rolname), '[]') FROM pg_roles r
             WHERE r.rolname IN ('pg_read_all_data', 'pg_write_all_data')
               AND pg_has_role(current_user, r.oid, 'USAGE'))::text AS members
     FROM pg_roles WHERE rolname = current_user`
  );
  const name = me[0]?.name ?? 'current_user';
  if (me[0]?.superuser === 'true') return [`role "${name}" is a superuser: it can read every table`];
  for (const member of JSON.parse(me[0]?.members ?? '[]') as string[]) {
    reasons.push(
      `role "${name}" is a member of ${member}: it can ${member.includes('read') ? 'read' : 'write'} every table`
    );
  }
  const { rows } = await client.query<{ schema: string; name: string; oid: string; columns: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid,
            (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum), '[]') FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               AND has_column_privilege(c.oid, a.attnum, 'SELECT'))::text AS columns
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
       AND has_any_column_privilege(c.oid, 'SELECT')
     ORDER BY 1, 2`
  );
  for (const row of rows) {
    const extra = await columnsBeyond(client, access, row);
    if (extra === 'table')
      reasons.push(`role "${name}" can read ${row.schema}.${row.name}, which the rules do not read`);
    else if (extra.length > 0)
      reasons.push(
        `role "${name}" can read ${row.schema}.${row.name} columns ${extra.join(', ')}, which the rules do not read`
      );
  }
  return reasons;
}

/** The readable columns of a table beyond what SyncScope reads from it, or `table` for a table it never reads. */
async function columnsBeyond(
  client: Queryable,
  access: SourceAccess,
  row: { schema: string; name: string; oid: string; columns: string }
): Promise<string[] | 'table'> {
  const rule = ruleTableFor(access.tables, row.schema, row.name);
  const search =
    access.userSearch?.schema === row.schema && access.userSearch.table === row.name
      ? access.userSearch
      : undefined;
  if (!rule && !search) return 'table';
  if (rule?.columns === 'all') return [];
  const allowed = new Set<string>([
    ...(rule?.columns ?? []),
    ...(search ? [search.idColumn, ...(search.emailColumn ? [search.emailColumn] : [])] : [])
  ]);
  if (rule) {
    const info = await describeSourceTable(client, { ...row, oid: Number(row.oid) }, 'default');
    for (const key of info.keyColumns) allowed.add(key);
  }
  return (JSON.parse(row.columns) as string[]).filter((c) => !allowed.has(c));
}
