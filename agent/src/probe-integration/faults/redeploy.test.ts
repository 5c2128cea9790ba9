import { readFileSync } from 'node:fs';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, RULES_FILE, startProbeHarness } from '../probe-harness.ts';
import { countVerdicts, silentLogger } from './fault-harness.ts';
import { probeThroughRedeploy } from './redeploy-under-probes.ts';

// 1M rows take minutes to reprocess: bench/redeploy.bench.ts does those; the suite reprocesses 50,000.
const ROWS = 50_000;
const RULES_A = readFileSync(RULES_FILE, 'utf8');
const RULES_B = `${RULES_A}  own_profile:
    parameters: SELECT id AS user_id FROM users WHERE id = request.user_id()
    data:
      - SELECT * FROM users WHERE id = bucket.user_id
`;

describe('fault: rules redeployed on a large table while probes run', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_redeploy', RULES_A, async (pool) => {
      // A workspace nobody probed belongs to: reprocessing reads every row, the probes sync alice's few.
      await pool.query(
        `INSERT INTO workspaces (id, name) VALUES ('ws-large', 'large');
         INSERT INTO records (id, workspace_id, title, amount)
           SELECT 'large-' || i, 'ws-large', 'row ' || i, i FROM generate_series(1, ${ROWS}) i`
      );
    });
  }, 180_000);
  afterAll(async () => h?.close());

  it('no mismatch while the new version reprocesses, consistent on the new rules after the switch, memory bounded', async () => {
    const run = await probeThroughRedeploy({
      server: h.sync,
      target: h.target,
      userId: DEMO_USERS.alice.id,
      authorisation: h.authorisation,
      logger: silentLogger,
      rules: RULES_B
    });
    const growthMiB = (run.peakRssBytes - run.rssBeforeBytes) / 1048576;
    console.log(
      `FAULT redeploy: ${ROWS} rows reprocessed in ${(run.reprocessMs / 1000).toFixed(1)} s; during: ${JSON.stringify(countVerdicts(run.during))}; after: ${JSON.stringify(countVerdicts(run.after))}; peak RSS ${(run.peakRssBytes / 1048576).toFixed(0)} MiB (+${growthMiB.toFixed(0)} MiB)`
    );
    expect(run.during.length).toBeGreaterThan(0);
    for (const r of [...run.during, ...run.after])
      expect(['consistent', 'inconclusive'], r.summary).toContain(r.verdict);
    // A probe that began while reprocessing ran says so when it is not consistent.
    for (const r of run.during.filter((d) => d.verdict === 'inconclusive'))
      expect(r.reason?.code, r.summary).toBe('SYNCSCOPE_E_SERVICE_REPROCESSING');
    const [after] = run.after;
    expect(after?.verdict, after?.summary).toBe('consistent');
    // The new rules are served: alice's own profile bucket is expected and held.
    expect(after?.buckets.actual.some((b) => b.includes('own_profile'))).toBe(true);
    expect(growthMiB).toBeLessThan(400);
  }, 300_000);
});
