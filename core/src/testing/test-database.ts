import pg from 'pg';
import { inject } from 'vitest';

export function testPgUrl(database: string): string {
  return inject('pgUrlTemplate').replace('{db}', database);
}

/** Creates (or re-creates) a throw-away database for one test file and returns its URL. */
export async function createTestDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: testPgUrl('postgres') });
  await admin.connect();
  try {
    // Replication slots pin a database: drop the ones a previous run left behind.
    await admin.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active',
      [name]
    );
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return testPgUrl(name);
}

/** Runs one statement (or a script without parameters) on its own connection. */
export async function execSql(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}
