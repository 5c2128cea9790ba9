import path from 'node:path';
import type { ClientStreamSubscription } from '@syncscope/core/inspector/client-stream-subscriptions';
import { DEMO_USERS, workspaceId } from '@syncscope/demo/seed/seed-plan';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HarnessTargetsHome,
  type ProbeHarness,
  startProbeHarness,
  writeHarnessTargetsHome
} from '../probe-integration/probe-harness.ts';
import {
  exportStreamsClientDatabase,
  type WorkspaceSubscription
} from '../probe-integration/stream-client.ts';
import {
  RECORDS_PER_WORKSPACE,
  subscribeToWorkspace,
  WORKSPACE_STREAMS
} from '../probe-integration/workspace-streams.ts';
import { runCliCaptured } from './run-cli-captured.ts';

const alice = DEMO_USERS.alice.id;
let h: ProbeHarness;
let home: HarnessTargetsHome;
let dir: string;
let cliEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  h = await startProbeHarness('inspect_streams', WORKSPACE_STREAMS);
  home = await writeHarnessTargetsHome(h, 'streams', WORKSPACE_STREAMS);
  dir = home.dir;
  cliEnv = home.env;
});
afterAll(async () => {
  await h?.close();
  await home?.remove();
});

/** Alice's app's database after it subscribed to workspaces' records (see exportStreamsClientDatabase). */
const aliceDatabase = (name: string, subscriptions: WorkspaceSubscription[]) =>
  exportStreamsClientDatabase(h, alice, path.join(dir, name), subscriptions);
const inspect = async (file: string, json = true) =>
  runCliCaptured(
    ['inspect', '--file', file, '--target', 'streams', '--user', alice, ...(json ? ['--json'] : [])],
    {
      env: cliEnv
    }
  );
const DAY = 86_400;
const workspaceBucket = (n: number) =>
  `1#workspace_records|0[${JSON.stringify(workspaceId(n))},${JSON.stringify(workspaceId(n))}]`;

describe('inspecting a client database that subscribed to sync streams', () => {
  it('reads its subscriptions, and compares with the source including them: the rows of subscribed streams are expected', async () => {
    const file = await aliceDatabase('alice-live.db', [{ workspace: 1 }, { workspace: 2, priority: 1 }]);
    const startedAt = Date.now();
    const { code, stdout, stderr } = await inspect(file);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    const subscriptions = report.streamSubscriptions as ClientStreamSubscription[];
    expect(subscriptions).toMatchObject([
      { ...subscribeToWorkspace(1), status: 'requested', isDefault: false, ttlSeconds: DAY },
      { ...subscribeToWorkspace(2), priority: 1, status: 'requested', ttlSeconds: DAY },
      { stream: 'my_workspaces', parameters: null, status: 'default', isDefault: true, ttlSeconds: null }
    ]);
    // The client keeps microseconds; a day's TTL from its last sync.
    const expiresIn = Date.parse(subscriptions[0]!.expiresAt!) - startedAt;
    expect(expiresIn).toBeGreaterThan((DAY - 60) * 1000);
    expect(expiresIn).toBeLessThanOrEqual(DAY * 1000);

    expect(report.comparison).toMatchObject({
      verdict: 'consistent',
      subscriptions: [subscribeToWorkspace(1), { ...subscribeToWorkspace(2), priority: 1 }],
      notes: [],
      rows: {
        perTable: { records: { expected: 2 * RECORDS_PER_WORKSPACE, actual: 2 * RECORDS_PER_WORKSPACE } }
      }
    });
    expect(report.comparison.buckets.actual).toEqual(
      expect.arrayContaining([workspaceBucket(1), workspaceBucket(2)])
    );
    expect(report.comparison.summary).toMatch(
      /^The exported database matches the source \(with the client's 2 stream subscriptions\): \d+ rows in \d+ buckets\.$/
    );

    const text = await inspect(file, false);
    expect(text.stdout).toContain(`Stream subscriptions (3), as of ${new Date().toISOString().slice(0, 10)}`);
    expect(text.stdout).toMatch(
      new RegExp(
        `\\n  workspace_records@1=\\{"workspace_id":"${workspaceId(2)}"\\}  requested, expires \\S+ \\(TTL 86400 s\\) unless the app keeps it subscribed\\n`
      )
    );
    expect(text.stdout).toContain(
      '\n  my_workspaces  default stream: the service syncs it without a subscription\n'
    );
  });

  it('a subscription to a stream the rules no longer define is left out of the comparison, with a note', async () => {
    const file = await aliceDatabase('alice-renamed.db', [{ workspace: 1 }]);
    // The app still subscribes to a stream the current rules dropped: the service ignores that subscription.
    const sqlite = new Database(file);
    sqlite
      .prepare(
        "INSERT INTO ps_stream_subscriptions (stream_name, local_params, ttl, expires_at) VALUES ('archived_records', '{\"year\":2024}', 86400, (unixepoch('subsec') + 86400) * 1000000)"
      )
      .run();
    sqlite.close();
    const { code, stdout } = await inspect(file);
    expect(code).toBe(0);
    const { streamSubscriptions, comparison } = JSON.parse(stdout);
    expect(streamSubscriptions.at(-1)).toMatchObject({ stream: 'archived_records', status: 'requested' });
    expect(comparison).toMatchObject({
      verdict: 'consistent',
      subscriptions: [subscribeToWorkspace(1)],
      notes: [
        'The client subscribes to archived_records={"year":2024}, but the rules define no stream "archived_records": the service ignores that subscription, so nothing of it is expected.'
      ]
    });
  });

  it('a subscription whose TTL ran out is not expected any more: its bucket and rows are named as what the client drops next', async () => {
    const file = await aliceDatabase('alice-expired.db', [
      { workspace: 1 },
      { workspace: 2, ttl: 1, release: true }
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the released subscription's 1 s TTL
    const { code, stdout } = await inspect(file);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect((report.streamSubscriptions as ClientStreamSubscription[]).map((s) => s.status)).toEqual([
      'requested',
      'expired',
      'default'
    ]);
    const { comparison } = report;
    expect(comparison.subscriptions).toEqual([subscribeToWorkspace(1)]);
    expect(comparison.buckets.differences).toEqual([
      {
        kind: 'extra',
        bucket: workspaceBucket(2),
        explanation: expect.stringMatching(
          new RegExp(
            `^The exported database holds ${escapeRegExp(workspaceBucket(2))} of stream workspace_records, which the client no longer requests: workspace_records=\\{"workspace_id":"${workspaceId(2)}"\\} expired \\S+ \\(TTL 1 s\\): not requested any more, its buckets go when the client next connects\\.$`
          )
        )
      }
    ]);
    // Workspace 1's records are expected (its subscription is live); workspace 2's are the bucket's.
    expect(comparison.rows.differenceCounts).toEqual({
      missing: 0,
      extra: RECORDS_PER_WORKSPACE,
      different: 0
    });
    for (const d of comparison.rows.differences) {
      expect(d).toMatchObject({ kind: 'extra', table: 'records', buckets: [workspaceBucket(2)] });
      expect(d.explanation).toBe(
        `records ${d.id}: it is held only in ${workspaceBucket(2)}, which the user no longer gets (see the bucket differences).`
      );
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
