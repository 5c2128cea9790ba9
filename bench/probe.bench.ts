/**
 * Probe time-to-verdict against the bare time for @powersync/node to reach hasSynced for the same user
 * (same run, same server), for users holding N rows; and the probe's peak memory (RSS growth) for the
 * largest size. Goals: ≤ 1.3× the bare sync; memory bounded by a streaming diff. Two ways a probe runs:
 * as the agent runs it (the expected state on its kept worker thread, started before the first run) and
 * as the one-shot CLI runs it (in-thread).
 *
 *   npx tsx bench/probe.bench.ts [1000 10000 100000] [--runs 3]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PowerSyncDatabase } from '@powersync/node';
import { findFreePort } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { ExpectedStateWorker } from '@syncscope/core/probe/expected/expected-state-worker';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import { runProbe } from '@syncscope/core/probe/run-probe';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { demoClientSchema, tokenConnector } from '@syncscope/powersync/testing/client-harness';
import {
  hs256DevConfig,
  mintHs256Token,
  TEST_AUDIENCE,
  TEST_KID
} from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { BENCH_RULES, benchDatasetSql } from './lib/bench-dataset.ts';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, timed } from './lib/stats.ts';

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '3' }, 'partition-helpers': { type: 'string' } }
  });
  // Helper threads for large tables' scans (default: one per further core); 0 to compare without.
  const partitionHelpers =
    values['partition-helpers'] === undefined ? undefined : Number(values['partition-helpers']);
  const sizes = positionals.length ? positionals.map(Number) : [1_000, 10_000, 100_000];
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  const logger = pino({ level: 'silent' });
  const expectedStateWorker = new ExpectedStateWorker({ partitionHelpers });
  await expectedStateWorker.start();
  // Probe tokens are minted only once audited: the bench audits into an ops database of its own.
  const opsUrl = await pgs.createDatabase('probe_bench_ops');
  await migrateOpsDatabase(opsUrl);
  const ops = new OpsDatabase(opsUrl);
  const authorisation = { actor: 'bench', reason: 'probe benchmark', audit: ops };
  try {
    console.log(`probe time-to-verdict vs bare @powersync/node hasSynced, median of ${runs} runs`);
    for (const n of sizes) {
      const sourceUrl = await pgs.createDatabase(`probe_src_${n}`);
      const storageUrl = await pgs.createDatabase(`probe_storage_${n}`);
      const setup = new pg.Client({ connectionString: sourceUrl });
      await setup.connect();
      await setup.query(benchDatasetSql(n, { others: true }));
      await setup.end();
      const secret = randomBytes(32);
      const server = await startDevSyncServer({
        loaded: hs256DevConfig({
          sourceUrl,
          storageUrl,
          port: await findFreePort(),
          secret,
          rulesYaml: BENCH_RULES
        }),
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
      const bare: number[] = [];
      const probe: number[] = [];
      const inThread: number[] = [];
      let peakRssGrowth = 0;
      let bareRssGrowth = 0;
      for (let run = 0; run < runs; run++) {
        // The bare run opens its database too (one read worker, as the probe does).
        const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-bare-'));
        const bareRssBefore = process.memoryUsage().rss;
        let barePeak = bareRssBefore;
        const bareSampler = setInterval(() => (barePeak = Math.max(barePeak, process.memoryUsage().rss)), 20);
        const { ms, value: db } = await timed(async () => {
          const d = new PowerSyncDatabase({
            schema: demoClientSchema,
            database: { dbFilename: 'bare.db', dbLocation: dir, readWorkerCount: 1 }
          });
          await d.connect(tokenConnector(server.url, () => mintHs256Token(secret, 'u-bench')));
          await d.waitForFirstSync();
          return d;
        });
        clearInterval(bareSampler);
        bareRssGrowth = Math.max(bareRssGrowth, barePeak - bareRssBefore);
        bare.push(ms);
        await db.disconnectAndClear();
        await db.close();
        await rm(dir, { recursive: true, force: true });
        const rssBefore = process.memoryUsage().rss;
        let peak = rssBefore;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
        const result = await timed(() =>
          runProbe(target, 'u-bench', { logger, authorisation, settleMs: 0, expectedStateWorker })
        );
        clearInterval(sampler);
        const cli = await timed(() =>
          runProbe(target, 'u-bench', { logger, authorisation, settleMs: 0, partitionHelpers })
        );
        inThread.push(cli.ms);
        for (const r of [result, cli]) {
          if (r.value.verdict !== 'consistent')
            throw new Error(`probe verdict ${r.value.verdict}: ${r.value.summary}`);
        }
        // Time to verdict includes everything up to the report: the write-checkpoint echo too.
        probe.push(result.ms);
        peakRssGrowth = Math.max(peakRssGrowth, peak - rssBefore);
        if (run === runs - 1) {
          const p = result.value.phases;
          console.log(
            `  n=${fmt(n, 0)} phases (last run, ms): ${Object.entries(p)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`
          );
        }
      }
      await server.close();
      console.log(
        `records=${fmt(n, 0)}: probe (agent) ${fmt(median(probe), 0)} ms vs bare hasSynced ${fmt(median(bare), 0)} ms = ${fmt(median(probe) / median(bare), 2)}× (goal ≤ 1.3×); ` +
          `in-thread (CLI) ${fmt(median(inThread), 0)} ms = ${fmt(median(inThread) / median(bare), 2)}×; peak RSS growth during a probe ${fmt(peakRssGrowth / 1048576, 0)} MiB (bare sync ${fmt(bareRssGrowth / 1048576, 0)} MiB; both include the dev server in this process)`
      );
    }
  } finally {
    await expectedStateWorker.close();
    await ops.close();
    await pgs.stop();
  }
}

await main();
