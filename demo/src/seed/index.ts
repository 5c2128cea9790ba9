import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { csvChunks } from './csv.ts';
import { SEED_TABLES, type SeedScale } from './seed-plan.ts';

export { DEMO_USERS, type SeedScale } from './seed-plan.ts';

export const DEFAULT_SEED_SCALE: SeedScale = { records: 200 };

export type SeedCounts = Record<(typeof SEED_TABLES)[number]['table'], number>;

/**
 * Loads the demo data with COPY, streaming generated rows (never the whole data set in memory), in one
 * transaction. A database that already has users is left as it is (a warm start keeps its data).
 */
export async function seedDemoData(
  pool: pg.Pool,
  scale: SeedScale = DEFAULT_SEED_SCALE
): Promise<SeedCounts | null> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    if (rows[0]!.n > 0) return null;
    await client.query('BEGIN');
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
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const t of SEED_TABLES) {
    const file = path.join(dir, `${t.table}.csv`);
    await pipeline(Readable.from(csvChunks(t.rows(scale))), createWriteStream(file));
    files[t.table] = file;
  }
  return files;
}
