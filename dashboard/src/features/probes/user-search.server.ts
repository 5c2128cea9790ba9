import 'server-only';
import { isSyncScopeError } from '@syncscope/core';
import { requireUserSearch, type SourceUser, searchUsers } from '@syncscope/core/source-access/user-search';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { loadTarget } from '@/server/targets';

export type { SourceUser };

/**
 * Finds users in the target's source database by id prefix or email fragment: only the id and email
 * columns of the table the target's `user_search` names; a target without it is refused.
 */
export async function searchSourceUsers(targetName: string, query: string): Promise<SourceUser[]> {
  const target = await loadTarget(targetName);
  return searchUsers(target.sourceUrl, requireUserSearch(target), query);
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
    if (isSyncScopeError(error)) return errorResponse(error.status, error.code, error.message);
    return errorResponse(
      502,
      'SYNCSCOPE_E_PG_UNREACHABLE',
      `User search failed: ${(error as Error).message}`
    );
  }
}
