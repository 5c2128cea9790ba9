import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../seed/index.ts';
import { categoryId, recordId, workspaceId } from '../../seed/seed-plan.ts';
import { type DemoHarness, startDemoHarness } from '../../testing/demo-backend-harness.ts';

const ALICE_WS = workspaceId(1);
const OTHER_WS = workspaceId(4); // alice is not a member
const snapshot = async (pool: pg.Pool) => ({
  records: (await pool.query('SELECT * FROM records ORDER BY id')).rows,
  categories: (await pool.query('SELECT * FROM categories ORDER BY id')).rows
});

describe('POST /api/upload', () => {
  let h: DemoHarness;
  let alice: string;
  beforeAll(async () => {
    h = await startDemoHarness('demo_upload');
    alice = await h.login(DEMO_USERS.alice.email);
  });
  afterAll(async () => h?.close());

  it('applies a valid PUT, PATCH and DELETE batch', async () => {
    const id = 'f0e7c7f6-0000-4000-8000-000000000001';
    const { status, body } = await h.upload(alice, [
      {
        op: 'PUT',
        table: 'records',
        id,
        data: {
          workspace_id: ALICE_WS,
          title: 'new',
          amount: '12.5',
          category_id: categoryId(1, 2),
          created_at: '2026-03-01T10:00:00Z'
        }
      },
      { op: 'PATCH', table: 'records', id, data: { title: 'patched', amount: 7 } },
      { op: 'PATCH', table: 'categories', id: categoryId(1, 2), data: { usage_count: 5 } },
      { op: 'DELETE', table: 'records', id: recordId(1) }
    ]);
    expect(status).toBe(200);
    expect(body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true, true, true]);
    const row = (
      await h.pool.query('SELECT title, amount::text AS amount, category_id FROM records WHERE id = $1', [id])
    ).rows[0];
    expect(row).toEqual({ title: 'patched', amount: '7.000', category_id: categoryId(1, 2) });
    expect(
      (await h.pool.query('SELECT usage_count FROM categories WHERE id = $1', [categoryId(1, 2)])).rows[0]
        .usage_count
    ).toBe(5);
    expect((await h.pool.query('SELECT 1 FROM records WHERE id = $1', [recordId(1)])).rowCount).toBe(0);
  });

  it('rejects bad operations with the right retryable flag, applies the rest, and leaves the database consistent', async () => {
    const before = await snapshot(h.pool);
    const good = 'f0e7c7f6-0000-4000-8000-000000000002';
    const fiveMb = 'x'.repeat(5 * 1024 * 1024);
    const { status, body } = await h.upload(alice, [
      { op: 'PUT', table: 'users', id: 'u1', data: { email: 'x@example.com' } },
      {
        op: 'PUT',
        table: 'records',
        id: 'f0e7c7f6-0000-4000-8000-000000000003',
        data: { workspace_id: OTHER_WS, title: 'not mine' }
      },
      {
        op: 'PUT',
        table: 'records',
        id: 'f0e7c7f6-0000-4000-8000-000000000004',
        data: { workspace_id: ALICE_WS, title: 'bad amount', amount: 'lots' }
      },
      { op: 'PUT', table: 'records', data: { workspace_id: ALICE_WS, title: 'no id' } },
      {
        op: 'PUT',
        table: 'records',
        id: "x'); DROP TABLE records; --",
        data: { workspace_id: ALICE_WS, title: 'inject' }
      },
      {
        op: 'PATCH',
        table: 'records',
        id: recordId(2),
        data: { 'title = title; DROP TABLE records; --': 'inject' }
      },
      {
        op: 'PUT',
        table: 'records',
        id: 'f0e7c7f6-0000-4000-8000-000000000005',
        data: { workspace_id: ALICE_WS, title: fiveMb }
      },
      { op: 'PUT', table: 'records', id: good, data: { workspace_id: ALICE_WS, title: 'the good one' } },
      {
        op: 'PUT',
        table: 'records',
        id: 'f0e7c7f6-0000-4000-8000-000000000006',
        data: { workspace_id: ALICE_WS, title: 'foreign category', category_id: categoryId(4, 1) }
      },
      { op: 'PATCH', table: 'records', id: 'does-not-exist', data: { title: 'ghost' } }
    ]);
    expect(status).toBe(200);
    const byIndex = (i: number) => body.results[i];
    expect(byIndex(0)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_UNKNOWN_TABLE' });
    expect(byIndex(1)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_FORBIDDEN' });
    expect(byIndex(2)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_INVALID_VALUE' });
    expect(byIndex(2).detail).toContain('amount');
    expect(byIndex(3)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_INVALID_ID' });
    expect(byIndex(4)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_INVALID_ID' });
    expect(byIndex(5)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_UNKNOWN_COLUMN' });
    expect(byIndex(6)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_FIELD_TOO_LARGE' });
    expect(byIndex(7)).toMatchObject({ ok: true, id: good, index: 7 });
    expect(byIndex(8)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_FOREIGN_KEY' });
    expect(byIndex(9)).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_NOT_FOUND' });
    for (const r of body.results) expect(r).toHaveProperty('index');

    const after = await snapshot(h.pool);
    expect(after.categories).toEqual(before.categories);
    const added = after.records.filter((r) => !before.records.some((b) => b.id === r.id));
    expect(added.map((r) => r.id)).toEqual([good]);
    expect(after.records.filter((r) => r.id !== good)).toEqual(before.records);
  });

  it('a viewer may not write', async () => {
    // Make carol a viewer of workspace 1, then have her edit it.
    await h.pool.query(`INSERT INTO workspace_memberships VALUES ('carol-viewer', $1, $2, 'viewer')`, [
      DEMO_USERS.carol.id,
      ALICE_WS
    ]);
    const carol = await h.login(DEMO_USERS.carol.email);
    const { body } = await h.upload(carol, [
      { op: 'PATCH', table: 'records', id: recordId(6), data: { title: 'viewer edit' } }
    ]);
    expect(body.results[0]).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_FORBIDDEN' });
  });

  it('reports a lock timeout as retryable and applies nothing of that operation', async () => {
    const holder = new pg.Client({ connectionString: h.appUrl });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM records WHERE id = $1 FOR UPDATE', [recordId(11)]);
    const { body } = await h.upload(alice, [
      { op: 'PATCH', table: 'records', id: recordId(11), data: { title: 'blocked' } },
      { op: 'PATCH', table: 'records', id: recordId(16), data: { title: 'not blocked' } }
    ]);
    await holder.query('ROLLBACK');
    await holder.end();
    expect(body.results[0]).toMatchObject({ ok: false, retryable: true, code: 'DEMO_E_TRANSIENT' });
    expect(body.results[0].detail).toContain('55P03');
    expect(body.results[1]).toMatchObject({ ok: true });
    expect(
      (await h.pool.query('SELECT title FROM records WHERE id = $1', [recordId(11)])).rows[0].title
    ).not.toBe('blocked');
  });

  it('answers malformed and oversized requests with one clear error', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${h.backend.url}/api/upload`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${alice}`, ...headers },
        body
      });
    const notJson = await post('{oops');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('SYNCSCOPE_E_REQUEST_INVALID');
    const noBatch = await post(JSON.stringify({ ops: [] }));
    expect(noBatch.status).toBe(400);
    expect((await noBatch.json()).error.message).toContain('batch');
    const tooMany = await post(JSON.stringify({ batch: Array.from({ length: 1001 }, () => ({})) }));
    expect(tooMany.status).toBe(400);
    const huge = await post(
      JSON.stringify({
        batch: [{ op: 'PUT', table: 'records', id: 'a', data: { title: 'x'.repeat(17 * 1024 * 1024) } }]
      })
    );
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('SYNCSCOPE_E_REQUEST_TOO_LARGE');
    const anonymous = await fetch(`${h.backend.url}/api/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"batch":[]}'
    });
    expect(anonymous.status).toBe(401);
  });
});
