import { readFile } from 'node:fs/promises';
import type pg from 'pg';

const SCHEMA_FILE = new URL('./demo-schema.sql', import.meta.url);
// Any constant shared by all processes applying this schema.
const SCHEMA_LOCK_KEY = 0x5c4e_3a01;

/** Creates the demo app's tables and the `powersync` publication; safe to run on every start. */
export async function applyDemoSchema(db: pg.Pool | pg.Client): Promise<void> {
  // The file is sent as one simple query, which Postgres runs as one transaction; the advisory lock
  // makes two processes applying it at once take turns (CREATE ... IF NOT EXISTS alone can race).
  const sql = await readFile(SCHEMA_FILE, 'utf8');
  await db.query(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY});\n${sql}`);
}
