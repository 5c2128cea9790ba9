/**
 * The sync stream cut at N seeded random points (default 1,000) across one user's first sync: every cut
 * probe's verdict counted (the goal: 0 mismatch, 0 error) and its time to verdict against uncut probes
 * through the same kind of proxy, at the same concurrency, in the same run.
 *
 *   npx tsx bench/stream-cuts.bench.ts [--cuts 1000] [--records 40] [--concurrency 4] [--uncut 20] [--seed 13]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { findFreePort } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { hs256DevConfig, TEST_AUDIENCE, TEST_KID } from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { countVerdicts, mapConcurrently } from '../agent/src/probe-integration/faults/fault-harness.ts';
import { probeWithCut, runStreamCuts } from '../agent/src/probe-integration/faults/stream-cuts.ts';
import { BENCH_RULES, benchDatasetSql } from './lib/bench-dataset.ts';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, percentile } from './lib/stats.ts';

async function main() {
  const { values } = parseArgs({
    options: {
      cuts: { type: 'string', default: '1000' },
      records: { type: 'string', default: '40' },
      concurrency: { type: 'string', default: '4' },
      uncut: { type: 'string', default: '20' },
      seed: { type: 'string', default: '13' }
    }
  });
  const concurrency = Number(values.concurrency);
  const pgs = await startBenchPostgres();
  const logger = pino({ level: 'silent' });
  const opsUrl = await pgs.createDatabase('stream_cuts_ops');
  await migrateOpsDatabase(opsUrl);
  const ops = new OpsDatabase(opsUrl);
  const sourceUrl = await pgs.createDatabase('stream_cuts_src');
  const storageUrl = await pgs.createDatabase('stream_cuts_storage');
  const setup = new pg.Client({ connectionString: sourceUrl });
  await setup.connect();
  await setup.query(benchDatasetSql(Number(values.records)));
  await setup.end();
  const secret = randomBytes(32);
  const port = await findFreePort();
  const server = await startDevSyncServer({
    loaded: hs256DevConfig({ sourceUrl, storageUrl, port, secret, rulesYaml: BENCH_RULES }),
    logger
  });
  const target: ProbeTarget = {
    name: 'bench',
    syncUrl: server.url,
    sourceUrl,
    syncRulesYaml: BENCH_RULES,
    signing: { kind: 'hs256', kid: TEST_KID, secret },
    audience: TEST_AUDIENCE
  };
  const options = {
    target,
    userId: 'u-bench',
    authorisation: { actor: 'bench', reason: 'stream-cuts benchmark', audit: ops },
    logger,
    count: Number(values.cuts),
    seed: Number(values.seed),
    concurrency
  };
  try {
    // The baseline: uncut probes through a pass-through proxy, side by side as the cut ones run.
    const uncut = await mapConcurrently(
      Array.from({ length: Number(values.uncut) }),
      concurrency,
      async () => (await probeWithCut(options, null)).probe
    );
    const started = performance.now();
    const run = await runStreamCuts(options);
    const wallSeconds = (performance.now() - started) / 1000;
    const cutMs = run.cuts.map((c) => c.ms);
    const uncutMs = uncut.map((c) => c.ms);
    const counts = countVerdicts(run.cuts.map((c) => c.report));
    console.log(
      `stream cuts: ${run.cuts.length} cuts in [0, ${fmt(run.uncutBytes, 0)}) bytes of a ${values.records}-record user, concurrency ${concurrency}, ${fmt(wallSeconds, 1)} s`
    );
    console.log(`  verdicts: ${JSON.stringify(counts)}`);
    console.log(`  uncut baseline verdicts: ${JSON.stringify(countVerdicts(uncut.map((c) => c.report)))}`);
    console.log(
      `  time to verdict: cut median ${fmt(median(cutMs), 0)} ms (p95 ${fmt(percentile(cutMs, 95), 0)} ms) vs uncut median ${fmt(median(uncutMs), 0)} ms = ${fmt(median(cutMs) / median(uncutMs), 2)}×`
    );
    const wrong = run.cuts.filter((c) => c.report.verdict === 'mismatch' || c.report.verdict === 'error');
    for (const c of wrong.slice(0, 10))
      console.log(`  cut at ${c.offset}: ${c.report.verdict}: ${c.report.summary}`);
    if (wrong.length > 0) process.exitCode = 1;
  } finally {
    await server.close();
    await ops.close();
    await pgs.stop();
  }
}

await main();
