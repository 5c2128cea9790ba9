import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { describe, expect, it } from 'vitest';
import { applyDemoSchema } from '../schema/index.ts';
import { seedDemoData, writeSeedCsv } from './index.ts';
import { SEED_TABLES } from './seed-plan.ts';

const dump = async (pool: pg.Pool, table: string) =>
  (await pool.query(`SELECT * FROM ${table} ORDER BY id`)).rows.map((r) => JSON.stringify(r));

describe('seed loading', () => {
  it('two processes starting on the same empty database: one seeds, the other finds it seeded', async () => {
    const url = await createTestDatabase('seed_concurrent');
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    try {
      await Promise.all(pools.map((p) => applyDemoSchema(p)));
      const outcomes = await Promise.all(pools.map((p) => seedDemoData(p, { records: 500 })));
      expect(outcomes.filter((o) => o === null)).toHaveLength(1);
      expect(outcomes.find((o) => o !== null)).toMatchObject({ records: 500 });
      expect((await pools[0]!.query('SELECT count(*)::int AS n FROM records')).rows[0].n).toBe(500);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('writes CSV files that a plain COPY loads into exactly the seeded rows', async () => {
    const seeded = new pg.Pool({ connectionString: await createTestDatabase('seed_csv_a') });
    const copied = new pg.Pool({ connectionString: await createTestDatabase('seed_csv_b') });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-seed-csv-'));
    try {
      await applyDemoSchema(seeded);
      await applyDemoSchema(copied);
      await seedDemoData(seeded, { records: 250 });
      const files = await writeSeedCsv(dir, { records: 250 });
      const client = await copied.connect();
      try {
        for (const t of SEED_TABLES) {
          const copy = client.query(
            copyFrom(`COPY ${t.table} (${t.columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`)
          );
          await pipeline(createReadStream(files[t.table]!), copy);
        }
      } finally {
        client.release();
      }
      for (const t of SEED_TABLES) {
        expect(await dump(copied, t.table), t.table).toEqual(await dump(seeded, t.table));
      }
    } finally {
      await seeded.end();
      await copied.end();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a scale that is not a whole number of records, before touching the database', async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase('seed_bad_scale') });
    try {
      await applyDemoSchema(pool);
      for (const records of [Number.NaN, -1, 2.5]) {
        await expect(seedDemoData(pool, { records })).rejects.toMatchObject({
          code: 'SYNCSCOPE_E_CONFIG_INVALID'
        });
      }
      expect((await pool.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
