import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, findFreePort, loadOrCreateSigningKey } from '@syncscope/core';
import { type CanaryStatus, HeldCanary } from '@syncscope/core/canary/held-canary';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { type DemoBackend, startDemoBackend } from '@syncscope/demo/backend/index';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { DEMO_WRITE_PROBE, workspaceId } from '@syncscope/demo/seed/seed-plan';
import { writeProbeUploadToken } from '@syncscope/demo/stack/write-probe-credential';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { proxiedSync } from '../probe-integration/faults/fault-harness.ts';
import {
  harnessTargetEntry,
  harnessTargetEnv,
  type ProbeHarness,
  RULES_FILE,
  startProbeHarness
} from '../probe-integration/probe-harness.ts';
import { type CanaryHolder, startCanaries } from './canary-holder.ts';

const ALICE = DEMO_USERS.alice.id;
const WRITER = DEMO_WRITE_PROBE.userId;
const TOKEN_TTL_SECONDS = 25;

let h: ProbeHarness;
let backend: DemoBackend;
let holder: CanaryHolder;
const registry = new Registry();
const startedAt = new Date();

async function eventually<T>(check: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const storedStatus = async (userId: string) =>
  (
    await h.ops.pool.query<{
      verdict: string;
      reason_code: string | null;
      last_freshness_seconds: number | null;
      updated_at: Date;
    }>(
      'SELECT verdict, reason_code, last_freshness_seconds, updated_at FROM syncscope.canary_status WHERE user_id = $1',
      [userId]
    )
  ).rows[0];

const canaryOf = (userId: string) => holder.held.get('canaries')!.find((c) => c.status.userId === userId)!;

/** The status once it says `verdict` (and passes `also`). */
const verdictOf = (userId: string, verdict: string, also: (s: CanaryStatus) => boolean = () => true) =>
  eventually(async () => {
    const s = canaryOf(userId).status;
    return s.verdict === verdict && also(s) ? s : undefined;
  });

const metricValue = async (name: string, labels: string) =>
  (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));

beforeAll(async () => {
  h = await startProbeHarness('canaries');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-canaries-'));
  const appKey = await loadOrCreateSigningKey(path.join(dir, 'keys'), 'test-app');
  backend = await startDemoBackend({
    host: '127.0.0.1',
    port: await findFreePort(),
    appDatabaseUrl: h.target.sourceUrl,
    signingKey: appKey,
    audience: 'powersync-dev',
    probeAudience: 'syncscope-probe',
    powersyncUrl: h.target.syncUrl,
    demoMode: false,
    logger: pino({ level: 'silent' })
  });
  await writeProbeUploadToken({
    file: path.join(dir, 'upload-token'),
    appKey,
    audience: 'powersync-dev',
    userId: WRITER
  });
  await copyFile(RULES_FILE, path.join(dir, 'sync_rules.yaml'));
  const file = path.join(dir, 'targets.yaml');
  await writeFile(
    file,
    [
      'targets:',
      harnessTargetEntry(h, 'canaries', 'sync_rules.yaml').trimEnd(),
      `    probe_token_ttl_seconds: ${TOKEN_TTL_SECONDS}`,
      `    upload_url: ${backend.url}/api/upload`,
      '    write_probe:',
      `      user_id: ${WRITER}`,
      '      table: records',
      `      values: { workspace_id: ${DEMO_WRITE_PROBE.workspaceId} }`,
      '      marker_column: title',
      '      upload_token_file: upload-token',
      '    canaries:',
      `      users: [${WRITER}, ${ALICE}]`,
      '      settle_seconds: 1',
      '      reconcile_seconds: 5',
      '      freshness: { every_seconds: 3600 }',
      ''
    ].join('\n')
  );
  holder = await startCanaries({
    targets: targetsSource(file, { ...process.env, ...harnessTargetEnv(h, 'canaries') }),
    logger: createLogger('canaries-test', 'silent'),
    scrubber: new SecretScrubber(),
    registry,
    ops: h.ops,
    agentName: 'canaries-test'
  });
}, 60_000);

afterAll(async () => {
  await holder?.stop();
  await backend?.close();
  await h?.close();
});

describe('live canaries held by the agent', () => {
  it('both canaries are consistent, stored in canary_status and counted by verdict per target', async () => {
    await verdictOf(ALICE, 'consistent');
    await verdictOf(WRITER, 'consistent');
    // Stored as published (the write is not awaited by the canary).
    const stored = await eventually(async () => {
      const row = await storedStatus(ALICE);
      return row?.verdict === 'consistent' ? row : undefined;
    });
    expect(stored.reason_code).toBeNull();
    expect(await metricValue('syncscope_canaries', 'verdict="consistent"')).toBe(
      'syncscope_canaries{target="canaries",verdict="consistent"} 2'
    );
    // Bounded labels: no user id in any series.
    expect(await registry.metrics()).not.toContain(ALICE);
  });

  it("a row updated in Postgres is re-read from the source and verified on the canary's stream", async () => {
    const id = (
      await h.pool.query<{ id: string }>('SELECT id FROM records WHERE workspace_id = $1 LIMIT 1', [
        workspaceId(1)
      ])
    ).rows[0]!.id;
    await verdictOf(ALICE, 'consistent');
    const writtenAt = Date.now();
    await h.pool.query("UPDATE records SET title = 'updated for the canary' WHERE id = $1", [id]);
    const status = await verdictOf(
      ALICE,
      'consistent',
      (s) => s.lastComparison?.kind === 'touched' && s.lastComparison.keys?.includes(`records/${id}`) === true
    );
    expect(status.evaluatedAt.getTime()).toBeGreaterThan(writtenAt);
  });

  it('a row the service omits becomes a mismatch after the settle window, and consistent once healed', async () => {
    const id = 'canary-omitted-row';
    h.sync.faults.set({ omitRows: [{ table: 'records', id }] });
    try {
      await h.pool.query("INSERT INTO records (id, workspace_id, title) VALUES ($1, $2, 'omitted')", [
        id,
        workspaceId(1)
      ]);
      const mismatch = await verdictOf(ALICE, 'mismatch');
      expect(mismatch.reason?.code).toBe('SYNCSCOPE_E_ROWS_DIFFER');
      const stored = await eventually(async () => {
        const row = await storedStatus(ALICE);
        return row?.verdict === 'mismatch' ? row : undefined;
      });
      expect(stored.reason_code).toBe('SYNCSCOPE_E_ROWS_DIFFER');
      expect(await metricValue('syncscope_canaries', 'verdict="mismatch"')).toBe(
        'syncscope_canaries{target="canaries",verdict="mismatch"} 1'
      );
      // The writer's canary does not hold workspace 1: unaffected.
      expect(canaryOf(WRITER).status.verdict).toBe('consistent');
    } finally {
      h.sync.faults.set({});
    }
    await verdictOf(ALICE, 'consistent');
    await h.pool.query('DELETE FROM records WHERE id = $1', [id]);
  });

  it('checksums the service keeps getting wrong are a checksum-failure loop, and consistent once healed', async () => {
    await verdictOf(ALICE, 'consistent');
    h.sync.faults.set({ corruptChecksums: [`1#by_workspace["${workspaceId(1)}"]`] });
    try {
      // A new checksum only reaches a held stream with the next change to the bucket.
      await h.pool.query("UPDATE records SET title = 'checksum fault' WHERE workspace_id = $1", [
        workspaceId(1)
      ]);
      const loop = await verdictOf(ALICE, 'mismatch');
      expect(loop.reason?.code).toBe('SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP');
    } finally {
      h.sync.faults.set({});
    }
    await verdictOf(ALICE, 'consistent');
  });

  it('a token shorter than the hold is refreshed, each one audited before use', async () => {
    const status = await eventually(
      async () => {
        const s = canaryOf(ALICE).status;
        return s.tokenRefreshes >= 1 ? s : undefined;
      },
      (TOKEN_TTL_SECONDS + 10) * 1000
    );
    const { rows } = await h.ops.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM syncscope.audit_log WHERE action = 'probe.token_minted' AND actor = 'canary:canaries-test' AND subject_user = $1 AND at >= $2",
      [ALICE, startedAt]
    );
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(status.tokensMinted);
    await verdictOf(ALICE, 'consistent');
  }, 60_000);

  it('a freshness marker through the write path is timed to the canary that syncs it', async () => {
    await holder.writeMarkersNow();
    const row = await eventually(async () => {
      const s = await storedStatus(WRITER);
      return s?.last_freshness_seconds != null ? s : undefined;
    });
    expect(row.last_freshness_seconds).toBeGreaterThan(0);
    expect(row.last_freshness_seconds).toBeLessThan(10);
    expect(await metricValue('syncscope_freshness_seconds_count', 'target="canaries"')).toBe(
      'syncscope_freshness_seconds_count{target="canaries"} 1'
    );
    // Alice is not in the write probe's workspace: her stream never sees the marker.
    expect((await storedStatus(ALICE))?.last_freshness_seconds).toBeNull();
  });
});

describe('a canary whose stream is cut', () => {
  it('is inconclusive while the service is unreachable, never a mismatch, and consistent after reconnecting', async () => {
    const { proxy, target } = await proxiedSync(h);
    const statuses: CanaryStatus[] = [];
    const canary = new HeldCanary({
      target,
      user: { userId: ALICE, subscriptions: [] },
      settings: { settleMs: 1000, reconcileMs: 60_000 },
      authorisation: h.authorisation,
      onStatus: (s) => statuses.push(s)
    });
    canary.start();
    try {
      await eventually(async () => (canary.status.verdict === 'consistent' ? true : undefined));
      proxy.setFault({ refuse: true });
      proxy.resetAll();
      await eventually(async () =>
        canary.status.verdict === 'inconclusive' &&
        canary.status.reason?.code === 'SYNCSCOPE_E_SERVICE_UNREACHABLE'
          ? true
          : undefined
      );
      // A row written while the stream is down arrives after the reconnect.
      await h.pool.query("UPDATE records SET title = 'while the stream was down' WHERE workspace_id = $1", [
        workspaceId(2)
      ]);
      await new Promise((r) => setTimeout(r, 2000));
      expect(canary.status.verdict).toBe('inconclusive');
      proxy.setFault({});
      await eventually(async () => (canary.status.verdict === 'consistent' ? true : undefined));
      expect(statuses.filter((s) => s.verdict === 'mismatch')).toEqual([]);
      expect(statuses.map((s) => s.reason?.code)).toContain('SYNCSCOPE_E_SERVICE_UNREACHABLE');
    } finally {
      await canary.close();
      await proxy.close();
    }
  }, 60_000);
});
