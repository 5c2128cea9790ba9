/**
 * Each user's buckets under the current rules and the draft, resolved as the service resolves a
 * connection's (parameter queries, and the streams a client subscribes to by default: `auto_subscribe`).
 */
import type { SourceSession } from '../../probe/expected/source-session.ts';
import { resolveUserBuckets, type ScanContext } from '../../probe/expected/user-buckets.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';

/** A user's bucket ids (as the rules name them, `1#by_workspace["…"]`) → their definition or stream. */
export type BucketSet = Map<string, string>;

export interface UserBucketSets {
  userId: string;
  current: BucketSet;
  draft: BucketSet;
}

export interface BucketResolver {
  resolve(userId: string): Promise<UserBucketSets>;
  /** Querier and evaluation errors, as the service would log them (bounded). */
  errors: string[];
}

export function bucketResolver(
  session: SourceSession,
  rules: { current: LoadedSyncRules; draft: LoadedSyncRules },
  claims: Record<string, unknown> = {}
): BucketResolver {
  const errors: string[] = [];
  const context = (r: LoadedSyncRules): ScanContext => ({
    session,
    rules: r,
    scans: [],
    errors,
    rowsRead: { parameters: 0, data: 0 }
  });
  const current = context(rules.current);
  const draft = context(rules.draft);
  const bucketsOf = async (ctx: ScanContext, userId: string): Promise<BucketSet> => {
    ctx.scans.length = 0; // the per-table scan log is for a probe's report; not kept here
    const user = await resolveUserBuckets(ctx, { ...claims, sub: userId }, {});
    for (const e of user.querierErrors) if (errors.length < 100) errors.push(`${userId}: ${e}`);
    return new Map(user.buckets.map((b) => [b.bucket, b.definition]));
  };
  return {
    errors,
    resolve: async (userId) => ({
      userId,
      current: await bucketsOf(current, userId),
      draft: await bucketsOf(draft, userId)
    })
  };
}
