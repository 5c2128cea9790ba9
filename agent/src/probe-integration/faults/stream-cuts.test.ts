import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from '../probe-harness.ts';
import { countVerdicts, silentLogger } from './fault-harness.ts';
import { runStreamCuts } from './stream-cuts.ts';

describe('fault: the sync stream cut at random points', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_stream_cuts');
  });
  afterAll(async () => h?.close());

  it('200 seeded cuts across the first sync: no mismatch, and no error', async () => {
    const started = performance.now();
    const run = await runStreamCuts({
      target: h.target,
      userId: DEMO_USERS.bob.id,
      authorisation: h.authorisation,
      logger: silentLogger,
      count: 200,
      seed: 13,
      concurrency: 4
    });
    const counts = countVerdicts(run.cuts.map((c) => c.report));
    console.log(
      `FAULT stream-cuts: ${run.cuts.length} cuts in [0, ${run.uncutBytes}) bytes, ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`
    );
    expect(run.uncut.report.verdict, run.uncut.report.summary).toBe('consistent');
    const wrong = run.cuts.filter((c) => c.report.verdict === 'mismatch' || c.report.verdict === 'error');
    expect(
      wrong.map((c) => `cut at ${c.offset}: ${c.report.verdict}: ${c.report.summary}`).slice(0, 5)
    ).toEqual([]);
  }, 480_000);
});
