import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './test-database.ts';

describe('embedded Postgres for tests', () => {
  it('runs with logical replication enabled', async () => {
    const url = await createTestDatabase('smoke_embedded');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query('SHOW wal_level');
    await client.end();
    expect(rows[0].wal_level).toBe('logical');
  });
});
