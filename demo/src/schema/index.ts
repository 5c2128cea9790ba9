import { readFile } from 'node:fs/promises';
import type pg from 'pg';

const SCHEMA_FILE = new URL('./demo-schema.sql', import.meta.url);

/** Creates the demo app's tables and the `powersync` publication; safe to run on every start. */
export async function applyDemoSchema(db: pg.Pool | pg.Client): Promise<void> {
  await db.query(await readFile(SCHEMA_FILE, 'utf8'));
}

/** Tables clients may write through the upload API, with the columns each accepts. */
export const WRITABLE_TABLES = {
  records: ['workspace_id', 'title', 'amount', 'category_id', 'created_at', 'updated_at'],
  categories: ['workspace_id', 'name', 'usage_count']
} as const;
