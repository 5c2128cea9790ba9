import 'server-only';
import { isSyncScopeError, type SyncScopeError } from '@syncscope/core';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { type StreamSubscription, streamsOf } from '@syncscope/core/sync-rules/stream-subscriptions';
import { parseSubscriptionLines } from '@syncscope/core/sync-rules/subscription-text';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { loadTarget } from '@/server/targets';

async function targetRules(targetName: string) {
  const target = await loadTarget(targetName);
  return loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile }).hydrated;
}

/**
 * The probe form's subscription lines, read with the shared parser and checked against the target's
 * current rules: the subscriptions, or an error naming the line and the fix (or why the rules could not
 * be read).
 */
export async function parseProbeSubscriptions(
  targetName: string,
  text: string
): Promise<{ subscriptions: StreamSubscription[] } | { error: SyncScopeError }> {
  if (!text.trim()) return { subscriptions: [] };
  try {
    return parseSubscriptionLines(text, await targetRules(targetName));
  } catch (error) {
    if (isSyncScopeError(error)) return { error };
    throw error;
  }
}

/** GET /api/targets/:name/streams: the sync streams of the target's rules, shown as hints in the form. */
export async function handleTargetStreams(request: Request, targetName: string): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/targets/[name]/streams');
  if ('response' in auth) return auth.response;
  const denied = auth.deny(targetName);
  if (denied) return denied;
  try {
    return Response.json({ streams: streamsOf(await targetRules(targetName)) });
  } catch (error) {
    if (isSyncScopeError(error)) return errorResponse(error.status, error.code, error.message);
    throw error;
  }
}
