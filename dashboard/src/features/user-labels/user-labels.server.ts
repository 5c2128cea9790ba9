import 'server-only';
import { lookupUsers } from '@syncscope/core/source-access/user-search';
import { loadTarget } from '@/server/targets';

/** The email (or name) the target's user search has for a user id, if any. */
export type UserLabels = (target: string, userId: string) => string | undefined;

/**
 * Labels for every user a page lists: one query per target on the page (not one per row), reading only
 * the columns the target's `user_search` names. A target without user search, or whose source does not
 * answer within its 2 s timeouts, leaves its users shown by id: a label is a convenience, never a reason
 * for a page to fail.
 */
export async function userLabels(users: readonly { target: string; userId: string }[]): Promise<UserLabels> {
  const idsByTarget = new Map<string, Set<string>>();
  for (const { target, userId } of users)
    idsByTarget.set(target, (idsByTarget.get(target) ?? new Set()).add(userId));
  const found = new Map(
    await Promise.all(
      [...idsByTarget].map(async ([target, ids]) => [target, await labelsOn(target, [...ids])] as const)
    )
  );
  return (target, userId) => found.get(target)?.get(userId);
}

async function labelsOn(name: string, ids: string[]): Promise<Map<string, string>> {
  try {
    const target = await loadTarget(name);
    return target.userSearch ? await lookupUsers(target.sourceUrl, target.userSearch, ids) : new Map();
  } catch {
    return new Map();
  }
}
