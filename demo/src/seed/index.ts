import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SyncScopeError } from '@syncscope/core';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { csvChunks } from './csv.ts';
import { SEED_TABLES, type SeedScale } from './seed-plan.ts';

export { DEMO_USERS, type SeedScale } from './seed-plan.ts';

export const DEFAULT_SEED_SCALE: SeedScale = { records: 200 };

export type SeedCounts = Record<(typeof SEED_TABLES)[number]['table'], number>;

// Any constant shared by all seeders of one database; serializes two stacks starting on the same DB.
const SEED_LOCK_KEY = 0x5eed_de30;

function assertScale(scale: SeedScale): void {
  if (!Number.isSafeInteger(scale.records) || scale.records < 0) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `The seed scale must be a whole number of records (0 or more), not ${String(scale.records)}.`
    );
  }
}

/**
 * Loads the demo data with COPY, streaming generated rows (never the whole data set in memory), in one
 * transaction. A database that already has users is left as it is (a warm start keeps its data).
 */
export async function seedDemoData(
  pool: pg.Pool,
  scale: SeedScale = DEFAULT_SEED_SCALE
): Promise<SeedCounts | null> {
  assertScale(scale);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Check and load under one lock: a second seeder waits, then sees the users and skips.
    await client.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
    const { rows } = await client.query<{ present: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM users) AS present'
    );
    if (rows[0]!.present) {
      await client.query('ROLLBACK');
      return null;
    }
    const counts = {} as SeedCounts;
    for (const t of SEED_TABLES) {
      let n = 0;
      const counted = (function* () {
        for (const row of t.rows(scale)) {
          n++;
          yield row;
        }
      })();
      const copy = client.query(
        copyFrom(`COPY ${t.table} (${t.columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`)
      );
      await pipeline(Readable.from(csvChunks(counted)), copy);
      counts[t.table] = n;
    }
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Writes the same data as one CSV file per table (for benchmarks comparing against a plain COPY). */
export async function writeSeedCsv(dir: string, scale: SeedScale): Promise<Record<string, string>> {
  assertScale(scale);
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const t of SEED_TABLES) {
    const file = path.join(dir, `${t.table}.csv`);
    await pipeline(Readable.from(csvChunks(t.rows(scale))), createWriteStream(file));
    files[t.table] = file;
  }
  return files;
}
