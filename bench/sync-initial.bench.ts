/**
 * Initial sync of one user holding N records: time to `hasSynced` with the real @powersync/node client,
 * against the dev server's own streaming rate read by a bare NDJSON reader in the same run. The goal
 * is that the server is never the bottleneck (its rate ≥ 5× the client's apply rate). The bare reader runs
 * in a worker thread, like a separate client, so its parsing does not share the server's event loop.
 *
 *   npx tsx bench/sync-initial.bench.ts [10000 100000] [--runs 3]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { findFreePort } from '@syncscope/core';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { openTestClient, tokenConnector } from '@syncscope/powersync/testing/client-harness';
import { hs256DevConfig, mintHs256Token } from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { BENCH_RULES, benchDatasetSql } from './lib/bench-dataset.ts';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, timed } from './lib/stats.ts';

function readInWorker(url: string, token: string): Promise<{ ops: number; ms: number }> {
  const worker = new Worker(new URL('./lib/ndjson-reader-worker.mjs', import.meta.url), {
    workerData: { url, token }
  });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function benchSize(pgs: Awaited<ReturnType<typeof startBenchPostgres>>, records: number, runs: number) {
  const sourceUrl = await pgs.createDatabase(`bench_src_${records}`);
  const storageUrl = await pgs.createDatabase(`bench_storage_${records}`);
  const source = new pg.Client({ connectionString: sourceUrl });
  await source.connect();
  await source.query(benchDatasetSql(records));
  await source.end();
  const secret = randomBytes(32);
  const replication = await timed(async () =>
    startDevSyncServer({
      loaded: hs256DevConfig({
        sourceUrl,
        storageUrl,
        port: await findFreePort(),
        secret,
        rulesYaml: BENCH_RULES
      }),
      logger: pino({ level: 'silent' })
    })
  );
  const server = replication.value;
  const ops = records + 10;
  const serverMs: number[] = [];
  const clientMs: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const bare = await readInWorker(server.url, await mintHs256Token(secret, 'u-bench'));
      if (bare.ops !== ops) throw new Error(`bare reader got ${bare.ops} ops, expected ${ops}`);
      serverMs.push(bare.ms);

      const client = await openTestClient();
      const synced = await timed(async () => {
        await client.db.connect(tokenConnector(server.url, () => mintHs256Token(secret, 'u-bench')));
        await client.db.waitForFirstSync();
      });
      const held = (await client.db.get<{ n: number }>('SELECT count(*) AS n FROM records')).n;
      await client.close();
      if (held !== records) throw new Error(`client holds ${held} records, expected ${records}`);
      clientMs.push(synced.ms);
    }
  } finally {
    await server.close();
  }
  const serverRate = ops / (median(serverMs) / 1000);
  const clientRate = ops / (median(clientMs) / 1000);
  return {
    records,
    replicationMs: replication.ms,
    serverMs: median(serverMs),
    clientMs: median(clientMs),
    serverRate,
    clientRate
  };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '3' } }
  });
  const sizes = positionals.length ? positionals.map(Number) : [10_000, 100_000];
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  try {
    console.log(
      `initial sync of one user, median of ${runs} runs (bare NDJSON reader vs @powersync/node to hasSynced)`
    );
    for (const size of sizes) {
      const r = await benchSize(pgs, size, runs);
      console.log(
        `records=${fmt(r.records, 0)}  initial replication ${fmt(r.replicationMs / 1000, 2)} s | ` +
          `server stream ${fmt(r.serverMs, 0)} ms = ${fmt(r.serverRate, 0)} ops/s | ` +
          `client to hasSynced ${fmt(r.clientMs, 0)} ms = ${fmt(r.clientRate, 0)} ops/s | ` +
          `server/client ratio ${fmt(r.serverRate / r.clientRate, 2)}× (goal ≥ 5×)`
      );
    }
  } finally {
    await pgs.stop();
  }
}

await main();
