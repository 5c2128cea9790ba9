/**
 * Light probes (the sync stream read at the protocol level, expected rows in memory) against full ones
 * (the real client; the expected state on the agent's kept thread), both in this process against one dev
 * sync server: (1) time to verdict for a user holding N rows, ratio light/full (goal ≤ 0.5× at 100k);
 * (2) C concurrent light probes of users holding 100 rows each, p95 against one such probe alone in the
 * same run (goal C ≥ 200 with p95 ≤ 2×); (3) peak heap and RSS growth per in-flight light probe.
 *
 *   npx tsx bench/light-probe.bench.ts [1000 10000 100000] [--runs 3] [--concurrent 200]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { findFreePort } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { ExpectedStateWorker } from '@syncscope/core/probe/expected/expected-state-worker';
import { SourceSessionPool } from '@syncscope/core/probe/expected/source-session';
import type { ProbeReport, ProbeTarget } from '@syncscope/core/probe/probe-types';
import { type RunProbeOptions, runProbe } from '@syncscope/core/probe/run-probe';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { hs256DevConfig, TEST_AUDIENCE, TEST_KID } from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { BENCH_RULES, benchDatasetSql } from './lib/bench-dataset.ts';
import { startBenchPostgres } from './lib/bench-postgres.ts';

type BenchPostgres = Awaited<ReturnType<typeof startBenchPostgres>>;

import { fmt, median, percentile, timed } from './lib/stats.ts';

const logger = pino({ level: 'silent' });

/** A source and a dev sync server over it, filled by `sql`. */
async function stack(pgs: BenchPostgres, name: string, sql: string) {
  const sourceUrl = await pgs.createDatabase(`${name}_src`);
  const storageUrl = await pgs.createDatabase(`${name}_storage`);
  const setup = new pg.Client({ connectionString: sourceUrl });
  await setup.connect();
  await setup.query(sql);
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
  return { server, target };
}

function consistent(report: ProbeReport): void {
  if (report.verdict !== 'consistent') throw new Error(`probe verdict ${report.verdict}: ${report.summary}`);
}

const p95 = (values: number[]) => percentile(values, 95);

/** "mint 12, sync 80, …": each phase's median over the probes that ran it. */
function phaseMedians(phases: Record<string, number>[]): string {
  const names = [...new Set(phases.flatMap((p) => Object.keys(p)))];
  return names
    .map((name) => `${name} ${fmt(median(phases.flatMap((p) => (name in p ? [p[name]!] : []))), 0)}`)
    .join(', ');
}

/** C users u-0… each the only member of a workspace of `rows` records. */
const manyUsersSql = (users: number, rows: number) => `
CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text, role text);
CREATE TABLE records(id text primary key, workspace_id text, title text, amount numeric, category_id text, created_at timestamptz);
CREATE TABLE categories(id text primary key, workspace_id text, name text, usage_count int);
CREATE INDEX ON records(workspace_id);
CREATE INDEX ON workspace_memberships(user_id);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO workspace_memberships SELECT 'm-'||u, 'u-'||u, 'ws-'||u, 'owner' FROM generate_series(0, ${users - 1}) u;
INSERT INTO records SELECT 'rec-'||u||'-'||i, 'ws-'||u, 'Record '||i, (i * 1.25)::numeric(12,3), null,
  timestamptz '2026-01-01 00:00:00+00' + (i || ' seconds')::interval
  FROM generate_series(0, ${users - 1}) u, generate_series(1, ${rows}) i;`;

async function sizes(
  pgs: BenchPostgres,
  sizesList: number[],
  runs: number,
  base: Omit<RunProbeOptions, 'mode'>
) {
  const worker = new ExpectedStateWorker();
  await worker.start();
  const pool = new SourceSessionPool();
  try {
    console.log(
      `(1) time to verdict, light vs full, both as the agent runs them (kept expected-state thread, shared source connections), median of ${runs} runs`
    );
    for (const n of sizesList) {
      const { server, target } = await stack(pgs, `light_${n}`, benchDatasetSql(n, { others: true }));
      const light: number[] = [];
      const full: number[] = [];
      let lightPhases: Record<string, number> = {};
      for (let run = 0; run < runs; run++) {
        const f = await timed(() =>
          runProbe(target, 'u-bench', { ...base, mode: 'full', expectedStateWorker: worker })
        );
        const l = await timed(() =>
          runProbe(target, 'u-bench', {
            ...base,
            mode: 'light',
            sessionPool: pool,
            expectedStateWorker: worker
          })
        );
        consistent(f.value);
        consistent(l.value);
        full.push(f.ms);
        light.push(l.ms);
        lightPhases = l.value.phases;
      }
      await server.close();
      console.log(
        `  records=${fmt(n, 0)}: light ${fmt(median(light), 0)} ms vs full ${fmt(median(full), 0)} ms = ${fmt(median(light) / median(full), 2)}× (goal ≤ 0.5× at 100k); light phases (ms): ${Object.entries(
          lightPhases
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`
      );
    }
  } finally {
    await worker.close();
    await pool.close();
  }
}

async function concurrency(
  pgs: BenchPostgres,
  concurrent: number,
  runs: number,
  base: Omit<RunProbeOptions, 'mode'>
) {
  const { server, target } = await stack(pgs, 'light_many', manyUsersSql(concurrent, 100));
  const pool = new SourceSessionPool();
  const probe = (user: number) =>
    runProbe(target, `u-${user}`, { ...base, mode: 'light', sessionPool: pool });
  try {
    // Warm: the rules library, the pool's connections, the server's first sessions.
    for (let i = 0; i < 3; i++) consistent(await probe(i));
    const alone: number[] = [];
    for (let i = 0; i < Math.max(5, runs); i++) {
      const r = await timed(() => probe(i));
      consistent(r.value);
      alone.push(r.ms);
    }
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    let heapPeak = heapBefore;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      heapPeak = Math.max(heapPeak, m.heapUsed);
      rssPeak = Math.max(rssPeak, m.rss);
    }, 10);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const phases: Record<string, number>[] = [];
    const times = await Promise.all(
      Array.from({ length: concurrent }, async (_, user) => {
        const r = await timed(() => probe(user));
        consistent(r.value);
        phases.push(r.value.phases);
        return r.ms;
      })
    );
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    console.log(
      `(2) ${concurrent} concurrent light probes (100 rows each): p95 ${fmt(p95(times), 0)} ms, median ${fmt(median(times), 0)} ms, all done in ${fmt(wall, 0)} ms; one alone (median of ${alone.length}) ${fmt(median(alone), 0)} ms; p95 / alone = ${fmt(p95(times) / median(alone), 2)}× (goal ≤ 2×)`
    );
    console.log(`    where a probe's time goes (median ms per phase): ${phaseMedians(phases)}`);
    // CPU is what a loaded machine cannot hide: wall times here stretch with other jobs, CPU per probe less.
    console.log(
      `    CPU of this process (probes + the dev sync server) per probe: ${fmt((cpu.user + cpu.system) / 1000 / concurrent, 1)} ms`
    );
    console.log(
      `(3) peak growth per in-flight light probe: heap ${fmt((heapPeak - heapBefore) / concurrent / 1024, 0)} KiB, RSS ${fmt((rssPeak - rssBefore) / concurrent / 1024, 0)} KiB (the dev sync server runs in this process and is included)`
    );
  } finally {
    await pool.close();
    await server.close();
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { runs: { type: 'string', default: '3' }, concurrent: { type: 'string', default: '200' } }
  });
  const sizesList = positionals.length ? positionals.map(Number) : [1_000, 10_000, 100_000];
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  const opsUrl = await pgs.createDatabase('light_bench_ops');
  await migrateOpsDatabase(opsUrl);
  const ops = new OpsDatabase(opsUrl);
  const base = {
    logger,
    authorisation: { actor: 'bench', reason: 'light probe benchmark', audit: ops },
    settleMs: 0
  };
  console.log(
    '2-core machine shared with other engineers: figures are noisy, compare the ratios within a run.'
  );
  try {
    if (sizesList[0] !== 0) await sizes(pgs, sizesList, runs, base);
    await concurrency(pgs, Number(values.concurrent), runs, base);
  } finally {
    await ops.close();
    await pgs.stop();
  }
}

await main();
