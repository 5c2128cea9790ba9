import type { StreamSubscription } from '@syncscope/core/sync-rules/stream-subscriptions';
import { workspaceId } from '@syncscope/demo/seed/seed-plan';

/**
 * Sync-stream rules over the demo data, for tests: an app that syncs the user's workspaces by default
 * and a workspace's records only once a screen subscribes,
 * `db.syncStream('workspace_records', {workspace_id}).subscribe()`.
 */
export const WORKSPACE_STREAMS = `config:
  edition: 2
streams:
  my_workspaces:
    auto_subscribe: true
    query: SELECT * FROM workspaces WHERE id IN (SELECT workspace_id FROM workspace_memberships WHERE user_id = auth.user_id())
  workspace_records:
    query: SELECT * FROM records WHERE workspace_id = subscription.parameter('workspace_id') AND workspace_id IN (SELECT workspace_id FROM workspace_memberships WHERE user_id = auth.user_id())
`;

/** 200 seeded records over 5 workspaces: record n is in workspace ((n - 1) % 5) + 1. */
export const RECORDS_PER_WORKSPACE = 40;

/** The subscription a screen showing demo workspace `n` makes. */
export const subscribeToWorkspace = (n: number): StreamSubscription => ({
  stream: 'workspace_records',
  parameters: { workspace_id: workspaceId(n) },
  priority: null
});
