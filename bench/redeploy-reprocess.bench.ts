/**
 * Reprocessing after a rules redeploy on a large table: the new version's snapshot (streamed through a
 * cursor) while the old version keeps serving. Prints the reprocessing rate and the process's peak RSS
 * growth during it, against a baseline measured in the same run: the first version's initial snapshot of
 * the same rows. Memory must stay flat whatever the row count (compare --rows 100000 with --rows 1000000).
 *
 *   npx tsx bench/redeploy-reprocess.bench.ts [--rows 100000] [--runs 3]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { findFreePort } from '@syncscope/core';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { hs256DevConfig } from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median } from './lib/stats.ts';

const RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
`;

/** Samples RSS every 50 ms while `work` runs; returns its duration and the peak growth over the start. */
async function measured(work: () => Promise<void>): Promise<{ ms: number; peakRssGrowth: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const start = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { ms: performance.now() - start, peakRssGrowth: Math.max(0, peak - before) };
}

async function main() {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } }
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  const sourceUrl = await pgs.createDatabase('redeploy_src');
  const storageUrl = await pgs.createDatabase('redeploy_storage');
  const setup = new pg.Client({ connectionString: sourceUrl });
  await setup.connect();
  await setup.query(`CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text);
    CREATE TABLE records(id text primary key, workspace_id text, title text, amount numeric);
    CREATE PUBLICATION powersync FOR ALL TABLES;
    INSERT INTO workspace_memberships VALUES ('m1', 'u-1', 'ws-1');
    INSERT INTO records SELECT 'rec-'||i, 'ws-'||(i % 100), 'Record '||i, i * 0.5 FROM generate_series(1, ${rows}) i;`);
  await setup.end();

  let server: Awaited<ReturnType<typeof startDevSyncServer>> | undefined;
  const baseline = await measured(async () => {
    server = await startDevSyncServer({
      loaded: hs256DevConfig({
        sourceUrl,
        storageUrl,
        port: await findFreePort(),
        secret: randomBytes(32),
        rulesYaml: RULES
      }),
      logger: pino({ level: 'silent' }),
      retireDelayMs: 0
    });
  });
  const reprocessing: { ms: number; peakRssGrowth: number }[] = [];
  for (let run = 0; run < runs; run++) {
    reprocessing.push(
      await measured(async () => {
        await server!.versions.reprocess();
        while (server!.versions.deploying) await new Promise((r) => setTimeout(r, 20));
      })
    );
  }
  await server!.close();
  await pgs.stop();

  const rate = (ms: number) => rows / (ms / 1000);
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const reprocessMs = median(reprocessing.map((r) => r.ms));
  const reprocessRss = median(reprocessing.map((r) => r.peakRssGrowth));
  console.log(`rows: ${fmt(rows, 0)}, reprocessing runs: ${runs}`);
  console.log(
    `baseline (first version's initial snapshot, incl. start-up): ${fmt(baseline.ms / 1000, 2)} s, ${fmt(rate(baseline.ms), 0)} rows/s, peak RSS growth ${fmt(mb(baseline.peakRssGrowth))} MB`
  );
  console.log(
    `reprocessing (median): ${fmt(reprocessMs / 1000, 2)} s, ${fmt(rate(reprocessMs), 0)} rows/s, peak RSS growth ${fmt(mb(reprocessRss))} MB`
  );
  console.log(`ratio reprocessing / baseline: time ${fmt(reprocessMs / baseline.ms, 2)}`);
}

await main();
