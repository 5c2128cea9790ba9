import 'server-only';
import pg from 'pg';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { loadTarget } from '@/server/targets';

export interface SourceUser {
  id: string;
  email: string | null;
}

/**
 * Finds users in the target's source database by id prefix or email fragment: the `users` table's `id`
 * and (when it has one) `email` column. Read-only transaction, 2 s statement timeout, at most 10 rows.
 */
export async function searchSourceUsers(targetName: string, query: string): Promise<SourceUser[]> {
  const target = await loadTarget(targetName);
  const client = new pg.Client({ connectionString: target.sourceUrl, statement_timeout: 2_000 });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const { rows: columns } = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = 'users' AND column_name IN ('id', 'email')`
    );
    const names = new Set(columns.map((c) => c.column_name));
    if (!names.has('id')) return [];
    const email = names.has('email') ? 'email' : 'NULL::text';
    const { rows } = await client.query<SourceUser>(
      `SELECT id::text AS id, ${email} AS email FROM public.users
       WHERE id::text LIKE $1 || '%' ${names.has('email') ? "OR email ILIKE '%' || $1 || '%'" : ''}
       ORDER BY 2 NULLS LAST, 1 LIMIT 10`,
      [query.replaceAll(/[%_\\]/g, (c) => `\\${c}`)]
    );
    return rows;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
  }
}

/** GET /api/targets/:name/users?q=… */
export async function handleUserSearch(request: Request, targetName: string): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/targets/[name]/users');
  if ('response' in auth) return auth.response;
  const denied = auth.deny(targetName);
  if (denied) return denied;
  const q = new URL(request.url).searchParams.get('q')?.trim() ?? '';
  if (q.length < 1) return Response.json({ users: [] });
  try {
    return Response.json({ users: await searchSourceUsers(targetName, q.slice(0, 100)) });
  } catch (error) {
    return errorResponse(
      502,
      'SYNCSCOPE_E_PG_UNREACHABLE',
      `User search failed: ${(error as Error).message}`
    );
  }
}
