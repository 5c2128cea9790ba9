import { execSql } from '@syncscope/core/testing/test-database';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from '../probe-harness.ts';
import { probeThrough, proxiedSource } from './fault-harness.ts';

/** Terminates the probe's snapshot session (application_name `syncscope-probe`) as soon as it appears. */
async function terminateProbeSession(sourceUrl: string, stop: AbortSignal): Promise<number | null> {
  while (!stop.aborted) {
    const { rows } = await execSql(
      sourceUrl,
      `SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE application_name = 'syncscope-probe' AND datname = current_database()`
    );
    if (rows[0]?.terminated) return rows[0].pid as number;
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}

describe('fault: the probe source session terminated', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_source_session');
  });
  afterAll(async () => h?.close());

  it('pg_terminate_backend on the expected-state session: inconclusive (source session lost), never mismatch', async () => {
    // The proxy slows every round trip to the source, holding the session open long enough to find it.
    const { proxy, target } = await proxiedSource(h);
    proxy.setFault({ delayMs: 40 });
    const stop = new AbortController();
    try {
      const terminating = terminateProbeSession(h.target.sourceUrl, stop.signal);
      const report = await probeThrough(h, target, DEMO_USERS.alice.id);
      stop.abort();
      const pid = await terminating;
      console.log(
        `FAULT source-session-lost: backend ${pid} terminated; verdict ${report.verdict} (${report.reason?.code ?? report.error?.code}) in ${report.durationMs} ms: ${report.summary}`
      );
      expect(pid).not.toBeNull();
      expect({ verdict: report.verdict, reason: report.reason?.code }).toEqual({
        verdict: 'inconclusive',
        reason: 'SYNCSCOPE_E_SOURCE_SESSION_LOST'
      });
      expect(report.summary).toMatch(/terminat|session/i);
    } finally {
      stop.abort();
      await proxy.close();
    }
  }, 60_000);
});
