/**
 * Seed load rate for N records (default 1M): the demo seed generator streaming into COPY, against a plain
 * COPY of the same rows from a CSV file written beforehand, in the same run. Median of several runs.
 *
 *   npx tsx bench/seed-load.bench.ts [--records 1000000] [--runs 3]
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { applyDemoSchema } from '@syncscope/demo/schema/index';
import { seedDemoData, writeSeedCsv } from '@syncscope/demo/seed/index';
import { SEED_TABLES } from '@syncscope/demo/seed/seed-plan';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, timed } from './lib/stats.ts';

async function plainCopy(pool: pg.Pool, files: Record<string, string>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const t of SEED_TABLES) {
      const copy = client.query(
        copyFrom(`COPY ${t.table} (${t.columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`)
      );
      await pipeline(createReadStream(files[t.table]!), copy);
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function main() {
  const { values } = parseArgs({
    options: { records: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } }
  });
  const records = Number(values.records);
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-seed-csv-'));
  try {
    const files = await writeSeedCsv(dir, { records });
    const seedMs: number[] = [];
    const copyMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      for (const [label, samples, load] of [
        ['seed', seedMs, async (pool: pg.Pool) => void (await seedDemoData(pool, { records }))],
        ['copy', copyMs, (pool: pg.Pool) => plainCopy(pool, files)]
      ] as const) {
        const pool = new pg.Pool({ connectionString: await pgs.createDatabase(`seed_${label}`) });
        await applyDemoSchema(pool);
        samples.push((await timed(() => load(pool))).ms);
        const count = (await pool.query('SELECT count(*)::int AS n FROM records')).rows[0].n;
        if (count !== records) throw new Error(`${label} loaded ${count} records, expected ${records}`);
        await pool.end();
      }
    }
    const seedRate = records / (median(seedMs) / 1000);
    const copyRate = records / (median(copyMs) / 1000);
    console.log(
      `seed load of ${fmt(records, 0)} records (plus users, workspaces, memberships, categories), median of ${runs} runs`
    );
    console.log(
      `seed generator → COPY: ${fmt(median(seedMs) / 1000, 2)} s = ${fmt(seedRate, 0)} records/s | ` +
        `plain COPY of the same CSV: ${fmt(median(copyMs) / 1000, 2)} s = ${fmt(copyRate, 0)} records/s | ` +
        `ratio ${fmt(seedRate / copyRate, 2)}×`
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    await pgs.stop();
  }
}

await main();
