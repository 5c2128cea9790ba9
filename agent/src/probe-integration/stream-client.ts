import path from 'node:path';
import { PowerSyncDatabase, type SyncStreamSubscription } from '@powersync/node';
import { mintAuditedProbeToken } from '@syncscope/core/probe/tokens/mint-probe-token';
import { demoClientSchema } from '@syncscope/demo/client/demo-client-schema';
import { workspaceId } from '@syncscope/demo/seed/seed-plan';
import Database from 'better-sqlite3';
import type { ProbeHarness } from './probe-harness.ts';

export interface WorkspaceSubscription {
  workspace: number;
  ttl?: number;
  priority?: 0 | 1 | 2 | 3;
  /** Released before the client closes (a screen the user left), so its TTL runs out. */
  release?: boolean;
}

/**
 * A database the real @powersync/node client wrote while a user's app, synced from the harness (rules
 * WORKSPACE_STREAMS), subscribed to workspaces' records (`db.syncStream('workspace_records',
 * {workspace_id}).subscribe({ttl, priority})`), waited for them and closed; exported as an app does
 * (WAL folded into the file). Returns the file.
 */
export async function exportStreamsClientDatabase(
  h: ProbeHarness,
  userId: string,
  file: string,
  subscriptions: WorkspaceSubscription[]
): Promise<string> {
  const db = new PowerSyncDatabase({
    schema: demoClientSchema,
    database: { dbFilename: path.basename(file), dbLocation: path.dirname(file) }
  });
  const handles: SyncStreamSubscription[] = [];
  for (const s of subscriptions)
    handles.push(
      await db
        .syncStream('workspace_records', { workspace_id: workspaceId(s.workspace) })
        .subscribe({ ttl: s.ttl, priority: s.priority })
    );
  await db.connect({
    fetchCredentials: async () => ({
      endpoint: h.target.syncUrl,
      token: (await mintAuditedProbeToken({ ...h.authorisation, target: h.target, userId, purpose: 'read' }))
        .token
    }),
    uploadData: async () => {}
  });
  for (const handle of handles) await handle.waitForFirstSync(AbortSignal.timeout(20_000));
  subscriptions.forEach((s, i) => {
    if (s.release) handles[i]!.unsubscribe();
  });
  await db.disconnect();
  await db.close();
  const sqlite = new Database(file);
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.close();
  return file;
}
