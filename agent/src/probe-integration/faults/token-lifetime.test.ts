import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from '../probe-harness.ts';
import { probeThrough, proxiedSync } from './fault-harness.ts';

const TTL_SECONDS = 3;

describe('fault: probe tokens that live shorter than the sync', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_token_lifetime');
  });
  afterAll(async () => h?.close());

  it('a 3 s token and a service slowed to 1 s a line: the token is refreshed (audited) and the probe is consistent', async () => {
    const { proxy, target } = await proxiedSync(h);
    // The service itself is slow (each line 1 s): the token expires while it is still sending.
    h.sync.faults.set({ delayMs: 1000 });
    try {
      const report = await probeThrough(
        h,
        { ...target, probeTokenTtlSeconds: TTL_SECONDS },
        DEMO_USERS.alice.id
      );
      const { rows: minted } = await h.ops.pool.query<{ jti: string; lifetime: number }>(
        `SELECT details->>'jti' AS jti,
                extract(epoch FROM (details->>'expiresAt')::timestamptz - at) AS lifetime
           FROM syncscope.audit_log
          WHERE action = 'probe.token_minted' AND subject_user = $1 ORDER BY id`,
        [DEMO_USERS.alice.id]
      );
      console.log(
        `FAULT token-lifetime: ${minted.length} tokens of ${TTL_SECONDS} s minted over a ${report.phases.sync} ms sync; verdict ${report.verdict}: ${report.summary}`
      );
      expect(report.verdict, report.summary).toBe('consistent');
      // The premise: the sync outlasted the first token.
      expect(report.phases.sync).toBeGreaterThan(TTL_SECONDS * 1000);
      expect(minted.length).toBeGreaterThanOrEqual(2);
      expect(new Set(minted.map((m) => m.jti)).size).toBe(minted.length);
      for (const m of minted) expect(Math.round(m.lifetime)).toBeLessThanOrEqual(TTL_SECONDS);
      expect(report.token.jti).toBe(minted.at(-1)?.jti);
    } finally {
      h.sync.faults.set({});
      await proxy.close();
    }
  }, 60_000);
});
