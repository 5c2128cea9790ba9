import pg from 'pg';
import type { SourceAccess } from './source-access.ts';
import { resolveSourceGrants, type SourceGrant, sourceRoleStatements } from './source-role-sql.ts';

/**
 * Creates or updates the least-privilege source role on the database `adminUrl` names, in one
 * transaction, as `syncscope source-role` would print it. Run it as a superuser or the tables' owner.
 * The password is only sent to Postgres, never logged or returned.
 */
export async function applySourceRole(
  adminUrl: string,
  input: { role: string; password: string; access: SourceAccess }
): Promise<{ grants: SourceGrant[]; missing: string[] }> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { grants, missing } = await resolveSourceGrants(client, input.access);
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    for (const sql of sourceRoleStatements({
      role: input.role,
      database: rows[0]!.db,
      grants,
      password: { literal: input.password }
    })) {
      await client.query(sql);
    }
    await client.query('COMMIT');
    return { grants, missing };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
