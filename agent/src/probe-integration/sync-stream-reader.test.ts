import { checkBuckets, SyncStreamReader } from '@syncscope/core/probe/light/sync-stream-reader';
import { mintAuditedProbeToken } from '@syncscope/core/probe/tokens/mint-probe-token';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { workspaceId } from '@syncscope/demo/seed/seed-plan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from './probe-harness.ts';

/** The protocol-level reader against the dev sync server, with audited probe tokens. */
describe('SyncStreamReader against the dev sync server', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('stream_reader');
  });
  afterAll(async () => h?.close());

  const reader = (signal: AbortSignal, ttlSeconds = 300, mints: string[] = []) =>
    new SyncStreamReader({
      endpoint: h.target.syncUrl,
      signal,
      token: async () => {
        const minted = await mintAuditedProbeToken({
          ...h.authorisation,
          target: h.target,
          userId: DEMO_USERS.alice.id,
          purpose: 'read',
          ttlSeconds
        });
        mints.push(minted.jti);
        return minted.token;
      }
    });

  /** Reads until the first checkpoint_complete, or until `until` says so. */
  async function readUntil(
    r: SyncStreamReader,
    stop: AbortController,
    until = (_completions: number) => true
  ) {
    let completions = 0;
    for await (const line of r.lines()) {
      if ('checkpoint_complete' in line && until(++completions)) stop.abort();
    }
  }

  it("alice's two workspaces validate, with 88 live rows, every row's PUT checksum as sent", async () => {
    const stop = new AbortController();
    const r = reader(stop.signal);
    await readUntil(r, stop);
    const checks = checkBuckets(r.state);
    expect(checks.map((c) => c.bucket).sort()).toEqual(
      [`1#by_workspace["${workspaceId(1)}"]`, `1#by_workspace["${workspaceId(2)}"]`].sort()
    );
    expect(checks.every((c) => c.ok && c.countOk)).toBe(true);
    const rows = [...r.state.buckets.values()].reduce((n, b) => n + b.rows.size, 0);
    expect(rows).toBe(80 + 8);
  });

  it('a corrupted checkpoint checksum fails that bucket only', async () => {
    const bucket = `1#by_workspace["${workspaceId(1)}"]`;
    h.sync.faults.set({ corruptChecksums: [bucket] });
    try {
      const stop = new AbortController();
      const r = reader(stop.signal);
      await readUntil(r, stop);
      expect(
        checkBuckets(r.state)
          .filter((c) => !c.ok)
          .map((c) => c.bucket)
      ).toEqual([bucket]);
    } finally {
      h.sync.faults.set({});
    }
  });

  it('a token about to expire is refreshed (a new audited token) and the stream resumes from its positions', async () => {
    const stop = new AbortController();
    const mints: string[] = [];
    // 25 s tokens: the service warns 20 s before the expiry, so at about 5 s.
    const r = reader(stop.signal, 25, mints);
    const started = Date.now();
    // The resumed stream completes a checkpoint again (no data: every bucket is at its position).
    await readUntil(r, stop, () => r.connects === 2);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.tokenRefreshes).toBe(1);
    expect(new Set(mints).size).toBe(2);
    expect(checkBuckets(r.state).every((c) => c.ok)).toBe(true);
    const { rows } = await h.ops.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM syncscope.audit_log WHERE details->>'jti' = ANY($1)",
      [mints]
    );
    expect(Number(rows[0]!.n)).toBe(2);
  }, 30_000);
});
