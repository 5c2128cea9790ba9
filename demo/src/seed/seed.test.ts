import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { applyDemoSchema } from '../schema/index.ts';
import { DEMO_USERS, seedDemoData } from './index.ts';

async function freshSeeded(name: string, records: number) {
  const pool = new pg.Pool({ connectionString: await createTestDatabase(name) });
  await applyDemoSchema(pool);
  const counts = await seedDemoData(pool, { records });
  return { pool, counts };
}

const dump = async (pool: pg.Pool, table: string) =>
  (await pool.query(`SELECT * FROM ${table} ORDER BY id`)).rows.map((r) => JSON.stringify(r));

describe('demo schema and seed', () => {
  it('loads the named users with their memberships: alice 2 of 5 workspaces, bob 1, carol none', async () => {
    const { pool, counts } = await freshSeeded('seed_named', 200);
    // Five app workspaces, and the write probe's own (no records, no categories).
    expect(counts).toMatchObject({ workspaces: 6, records: 200, categories: 20 });
    const memberships = async (id: string) =>
      (await pool.query('SELECT count(*)::int AS n FROM workspace_memberships WHERE user_id = $1', [id]))
        .rows[0].n;
    expect(await memberships(DEMO_USERS.alice.id)).toBe(2);
    expect(await memberships(DEMO_USERS.bob.id)).toBe(1);
    expect(await memberships(DEMO_USERS.carol.id)).toBe(0);
    const aliceRecords = await pool.query(
      `SELECT count(*)::int AS n FROM records r JOIN workspace_memberships m ON m.workspace_id = r.workspace_id WHERE m.user_id = $1`,
      [DEMO_USERS.alice.id]
    );
    expect(aliceRecords.rows[0].n).toBe(80);
    await pool.end();
  });

  it('is deterministic: the same scale gives identical rows in two databases', async () => {
    const a = await freshSeeded('seed_det_a', 300);
    const b = await freshSeeded('seed_det_b', 300);
    for (const table of ['users', 'workspaces', 'workspace_memberships', 'categories', 'records']) {
      expect(await dump(a.pool, table), table).toEqual(await dump(b.pool, table));
    }
    await a.pool.end();
    await b.pool.end();
  });

  it('leaves an already seeded database alone (a warm start keeps its data) and the schema is re-appliable', async () => {
    const { pool } = await freshSeeded('seed_warm', 50);
    await pool.query(
      "UPDATE records SET title = 'edited by a user' WHERE id = (SELECT min(id) FROM records)"
    );
    await applyDemoSchema(pool);
    expect(await seedDemoData(pool, { records: 50 })).toBeNull();
    const edited = await pool.query(
      "SELECT count(*)::int AS n FROM records WHERE title = 'edited by a user'"
    );
    expect(edited.rows[0].n).toBe(1);
    expect((await pool.query('SELECT count(*)::int AS n FROM records')).rows[0].n).toBe(50);
    await pool.end();
  });
});
