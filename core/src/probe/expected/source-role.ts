import { readsBeyondRules } from '../../source-access/role-privileges.ts';
import { sourceAccessOf, type UserSearchAccess } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { withSourceSession } from './source-session.ts';
import { tablesForPattern } from './source-tables.ts';

export interface SourceRoleCheck {
  canWrite: boolean;
  /** One sentence per way the role can write, e.g. `role "app" can INSERT, UPDATE on public.records`. */
  reasons: string[];
  /** With rules: whether the role can read tables or columns the rules do not read (and why, one sentence each). */
  readsBeyondRules: boolean;
  readReasons: string[];
}

/**
 * Whether the role in `sourceUrl` could write what the probe reads: a superuser, or INSERT / UPDATE /
 * DELETE / TRUNCATE (table or column grants, own or inherited) on any table the rules read (every user
 * table when no rules are given); and, given rules, whether it can read beyond their tables and columns
 * (and the user-search columns). The probe itself only ever reads, in a READ ONLY transaction, only what
 * the rules read; this is for the CLI and agent to warn that the least-privilege role is the safer choice.
 */
export async function checkSourceRoleCanWrite(
  sourceUrl: string,
  rules?: LoadedSyncRules,
  userSearch?: UserSearchAccess
): Promise<SourceRoleCheck> {
  return withSourceSession(sourceUrl, { statementTimeoutMs: 30_000 }, async ({ client }) => {
    const reasons: string[] = [];
    const { rows: role } = await client.query<{ name: string; superuser: string }>(
      'SELECT current_user AS name, rolsuper::text AS superuser FROM pg_roles WHERE rolname = current_user'
    );
    const name = role[0]?.name ?? 'current_user';
    if (role[0]?.superuser === 'true') {
      reasons.push(`role "${name}" is a superuser: it can write every table`);
    }
    let oids: number[] | null = null;
    if (rules) {
      oids = [];
      for (const pattern of rules.hydrated.getSourceTables()) {
        for (const t of await tablesForPattern(client, pattern)) oids.push(t.oid);
      }
    }
    const { rows } = await client.query<{
      table: string;
      ins: string;
      upd: string;
      del: string;
      trunc: string;
    }>(
      `SELECT n.nspname || '.' || c.relname AS table,
              (has_table_privilege(c.oid, 'INSERT') OR has_any_column_privilege(c.oid, 'INSERT'))::text AS ins,
              (has_table_privilege(c.oid, 'UPDATE') OR has_any_column_privilege(c.oid, 'UPDATE'))::text AS upd,
              has_table_privilege(c.oid, 'DELETE')::text AS del,
              has_table_privilege(c.oid, 'TRUNCATE')::text AS trunc
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p')
         AND ($1::oid[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_%' OR c.oid = ANY($1::oid[]))
       ORDER BY 1`,
      [oids]
    );
    if (reasons.length === 0) {
      for (const r of rows) {
        const privileges = [
          r.ins === 'true' && 'INSERT',
          r.upd === 'true' && 'UPDATE',
          r.del === 'true' && 'DELETE',
          r.trunc === 'true' && 'TRUNCATE'
        ].filter(Boolean);
        if (privileges.length > 0) reasons.push(`role "${name}" can ${privileges.join(', ')} on ${r.table}`);
      }
    }
    const readReasons = rules ? await readsBeyondRules(client, sourceAccessOf(rules, userSearch)) : [];
    return { canWrite: reasons.length > 0, reasons, readsBeyondRules: readReasons.length > 0, readReasons };
  });
}
