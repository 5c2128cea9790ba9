/**
 * Time from `npm start` (the launcher process) to "ready" on an empty data folder and on a warm one,
 * against the bare embedded Postgres start (initdb + start, or start) measured in the same run.
 *
 *   npx tsx bench/stack-startup.bench.ts [--runs 3]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findFreePort } from '@syncscope/core';
import { startEmbeddedPostgres } from '@syncscope/core/embedded-postgres/embedded-postgres';
import { freeStackPorts } from '@syncscope/demo/stack/free-stack-ports';
import { fmt, median, timed } from './lib/stats.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function stackToReady(home: string): Promise<number> {
  const env = {
    ...process.env,
    SYNCSCOPE_HOME: home,
    ...(await freeStackPorts())
  };
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/src/stack/main.ts'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      output += d;
      if (output.includes('Press Ctrl-C')) resolve();
    });
    child.once('exit', () => reject(new Error(`stack exited before ready:\n${output}`)));
  });
  const ms = performance.now() - started;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
  return ms;
}

async function barePostgres(home: string): Promise<number> {
  const { ms, value } = await timed(async () =>
    startEmbeddedPostgres({
      dataDir: path.join(home, 'pg'),
      port: await findFreePort(),
      host: '127.0.0.1',
      user: 'postgres',
      password: 'postgres'
    })
  );
  await value.stop();
  return ms;
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  const runs = Number(values.runs);
  const samples = {
    coldStack: [] as number[],
    warmStack: [] as number[],
    coldPg: [] as number[],
    warmPg: [] as number[]
  };
  for (let run = 0; run < runs; run++) {
    const stackHome = await mkdtemp(path.join(os.tmpdir(), 'syncscope-start-'));
    const pgHome = await mkdtemp(path.join(os.tmpdir(), 'syncscope-start-pg-'));
    samples.coldStack.push(await stackToReady(stackHome));
    samples.warmStack.push(await stackToReady(stackHome));
    samples.coldPg.push(await barePostgres(pgHome));
    samples.warmPg.push(await barePostgres(pgHome));
    await rm(stackHome, { recursive: true, force: true });
    await rm(pgHome, { recursive: true, force: true });
  }
  const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof samples,
    number
  >;
  console.log(
    `npm start to ready (process spawn included), median of ${runs} runs; baseline: bare embedded Postgres`
  );
  console.log(
    `empty data folder: stack ${fmt(m.coldStack / 1000, 2)} s vs initdb+start ${fmt(m.coldPg / 1000, 2)} s (${fmt(m.coldStack / m.coldPg, 2)}×)`
  );
  console.log(
    `warm data folder:  stack ${fmt(m.warmStack / 1000, 2)} s vs start ${fmt(m.warmPg / 1000, 2)} s (${fmt(m.warmStack / m.warmPg, 2)}×)`
  );
}

await main();
