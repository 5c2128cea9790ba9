import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../seed/index.ts';
import { categoryId, recordId, workspaceId } from '../../seed/seed-plan.ts';
import { type DemoHarness, startDemoHarness } from '../../testing/demo-backend-harness.ts';
import type { OperationResult } from '../index.ts';

// Seed layout (records: 200, 5 workspaces): record n is in workspace ((n - 1) % 5) + 1 and uses that
// workspace's category 1 + (n % 4). alice: owner of ws1, member of ws2. bob: owner of ws3.
const WS1 = workspaceId(1);
const WS2 = workspaceId(2);
const WS4 = workspaceId(4);

describe('upload rules', () => {
  let h: DemoHarness;
  let alice: string;
  let bob: string;
  const hookCalls: { userId: string; results: OperationResult[]; batch: unknown[] }[] = [];
  let hookFails = false;

  beforeAll(async () => {
    h = await startDemoHarness('demo_upload_rules', {
      onResults: (userId, results, batch) => {
        hookCalls.push({ userId, results, batch });
        if (hookFails) throw new Error('ingest API unreachable');
      }
    });
    alice = await h.login(DEMO_USERS.alice.email);
    bob = await h.login(DEMO_USERS.bob.email);
  });
  afterAll(async () => h?.close());

  const row = async (table: 'records' | 'categories', id: string) =>
    (await h.pool.query(`SELECT * FROM ${table} WHERE id = $1`, [id])).rows[0];

  it('names every JavaScript object has (constructor, toString, __proto__) are not tables or columns', async () => {
    const before = await row('records', recordId(1));
    const { status, body } = await h.upload(alice, [
      { op: 'DELETE', table: 'constructor', id: 'x' },
      { op: 'PUT', table: '__proto__', id: 'x', data: { title: 'x' } },
      { op: 'PATCH', table: 'records', id: recordId(1), data: { constructor: 'x' } },
      { op: 'PATCH', table: 'records', id: recordId(1), data: { toString: 'x' } },
      {
        op: 'PUT',
        table: 'categories',
        id: 'c-proto',
        data: { workspace_id: WS1, name: 'n', hasOwnProperty: 1 }
      }
    ]);
    expect(status).toBe(200);
    expect(body.results.map((r: OperationResult) => (r.ok ? 'ok' : [r.code, r.retryable]))).toEqual([
      ['DEMO_E_UNKNOWN_TABLE', false],
      ['DEMO_E_UNKNOWN_TABLE', false],
      ['DEMO_E_UNKNOWN_COLUMN', false],
      ['DEMO_E_UNKNOWN_COLUMN', false],
      ['DEMO_E_UNKNOWN_COLUMN', false]
    ]);
    expect(await row('records', recordId(1))).toEqual(before);
    expect(await row('categories', 'c-proto')).toBeUndefined();
  });

  it('refuses a data.id that differs from the operation id', async () => {
    const { body } = await h.upload(alice, [
      { op: 'PUT', table: 'records', id: 'r-id-a', data: { id: 'r-id-b', workspace_id: WS1, title: 't' } },
      { op: 'PUT', table: 'records', id: 'r-id-c', data: { id: 'r-id-c', workspace_id: WS1, title: 't' } }
    ]);
    expect(body.results[0]).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_INVALID_ID' });
    expect(body.results[1]).toMatchObject({ ok: true });
    expect(await row('records', 'r-id-a')).toBeUndefined();
    expect(await row('records', 'r-id-b')).toBeUndefined();
    expect(await row('records', 'r-id-c')).toMatchObject({ workspace_id: WS1, title: 't' });
  });

  it('PUT replaces the whole row: columns it leaves out become null, created_at is kept', async () => {
    const id = recordId(6);
    const before = await row('records', id);
    expect(before.amount).not.toBeNull();
    expect(before.category_id).not.toBeNull();
    const { body } = await h.upload(alice, [
      { op: 'PUT', table: 'records', id, data: { workspace_id: WS1, title: 'replaced' } }
    ]);
    expect(body.results[0]).toMatchObject({ ok: true });
    expect(await row('records', id)).toEqual({
      ...before,
      title: 'replaced',
      amount: null,
      category_id: null,
      updated_at: null
    });
  });

  it('moves between workspaces only when the writer may write in both, and the category follows', async () => {
    const moved = recordId(21); // ws1
    const keepsOldCategory = recordId(11); // ws1, category of ws1
    const toForeign = recordId(16); // ws1
    const bobs = recordId(3); // ws3
    const notAlices = recordId(4); // ws4
    const usedCategory = categoryId(1, 2); // used by ws1 records
    const before = {
      keepsOldCategory: await row('records', keepsOldCategory),
      toForeign: await row('records', toForeign),
      bobs: await row('records', bobs),
      notAlices: await row('records', notAlices),
      usedCategory: await row('categories', usedCategory)
    };
    const asAlice = await h.upload(alice, [
      {
        op: 'PATCH',
        table: 'records',
        id: moved,
        data: { workspace_id: WS2, category_id: categoryId(2, 1) }
      },
      { op: 'PATCH', table: 'records', id: keepsOldCategory, data: { workspace_id: WS2 } },
      { op: 'PATCH', table: 'records', id: toForeign, data: { workspace_id: WS4 } },
      { op: 'PUT', table: 'records', id: notAlices, data: { workspace_id: WS1, title: 'taken over' } },
      { op: 'PATCH', table: 'categories', id: usedCategory, data: { workspace_id: WS2 } },
      { op: 'PUT', table: 'categories', id: 'c-empty', data: { workspace_id: WS1, name: 'unused' } },
      { op: 'PATCH', table: 'categories', id: 'c-empty', data: { workspace_id: WS2 } }
    ]);
    expect(asAlice.body.results.map((r: OperationResult) => (r.ok ? 'ok' : r.code))).toEqual([
      'ok',
      'DEMO_E_FOREIGN_KEY',
      'DEMO_E_FORBIDDEN',
      'DEMO_E_FORBIDDEN',
      'DEMO_E_FOREIGN_KEY',
      'ok',
      'ok'
    ]);
    const asBob = await h.upload(bob, [
      { op: 'PATCH', table: 'records', id: bobs, data: { workspace_id: WS1 } }
    ]);
    expect(asBob.body.results[0]).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_FORBIDDEN' });

    expect(await row('records', moved)).toMatchObject({ workspace_id: WS2, category_id: categoryId(2, 1) });
    expect(await row('categories', 'c-empty')).toMatchObject({ workspace_id: WS2 });
    expect(await row('records', keepsOldCategory)).toEqual(before.keepsOldCategory);
    expect(await row('records', toForeign)).toEqual(before.toForeign);
    expect(await row('records', bobs)).toEqual(before.bobs);
    expect(await row('records', notAlices)).toEqual(before.notAlices);
    expect(await row('categories', usedCategory)).toEqual(before.usedCategory);
    // Invariant: every record's category is in the record's workspace.
    const mismatched = await h.pool.query(
      'SELECT r.id FROM records r JOIN categories c ON c.id = r.category_id WHERE c.workspace_id <> r.workspace_id'
    );
    expect(mismatched.rows).toEqual([]);
  });

  it('checks value types, rounding amounts the way numeric(12,3) does and reading zone-less times as UTC', async () => {
    const put = (id: string, data: Record<string, unknown>) => ({
      op: 'PUT',
      table: 'records',
      id,
      data: { workspace_id: WS1, title: `value ${id}`, ...data }
    });
    const { body } = await h.upload(alice, [
      put('v-float', { amount: 0.1 + 0.2 }),
      put('v-round', { amount: '-12.3456' }),
      put('v-zoneless', { created_at: '2026-05-01 09:00:00' }),
      put('v-service', { created_at: '2026-05-01 09:00:00Z', updated_at: '2026-05-02T10:30:00.123+02:00' }),
      put('v-huge', { amount: 1e12 }),
      put('v-comma', { amount: '1,5' }),
      put('v-bool', { amount: true }),
      put('v-when', { created_at: 'yesterday' }),
      put('v-nul', { title: 'a\u0000b' }),
      put('v-empty', { title: '   ' }),
      put('v-long', { title: 'é'.repeat(5_001) }),
      { op: 'PATCH', table: 'records', id: recordId(26), data: { created_at: null } },
      { op: 'PATCH', table: 'categories', id: categoryId(1, 1), data: { usage_count: 1.5 } },
      { op: 'PATCH', table: 'categories', id: categoryId(1, 1), data: { usage_count: '5' } },
      { op: 'PATCH', table: 'categories', id: categoryId(1, 1), data: { usage_count: 2 ** 31 } }
    ]);
    const outcome = body.results.map((r: OperationResult) => (r.ok ? 'ok' : [r.code, r.retryable]));
    expect(outcome.slice(0, 4)).toEqual(['ok', 'ok', 'ok', 'ok']);
    for (const failed of outcome.slice(4)) {
      expect(failed).toEqual([expect.stringMatching(/^DEMO_E_(INVALID_VALUE|FIELD_TOO_LARGE)$/), false]);
    }
    expect(outcome[10]).toEqual(['DEMO_E_FIELD_TOO_LARGE', false]);
    const stored = await h.pool.query(
      `SELECT id, amount::text AS amount, created_at, updated_at FROM records WHERE id LIKE 'v-%' ORDER BY id`
    );
    expect(stored.rows.map((r) => r.id)).toEqual(['v-float', 'v-round', 'v-service', 'v-zoneless']);
    const byId = Object.fromEntries(stored.rows.map((r) => [r.id, r]));
    expect(byId['v-float'].amount).toBe('0.300');
    expect(byId['v-round'].amount).toBe('-12.346');
    expect(byId['v-zoneless'].created_at.toISOString()).toBe('2026-05-01T09:00:00.000Z');
    expect(byId['v-service'].created_at.toISOString()).toBe('2026-05-01T09:00:00.000Z');
    expect(byId['v-service'].updated_at.toISOString()).toBe('2026-05-02T08:30:00.123Z');
    expect((await row('records', recordId(26))).created_at).not.toBeNull();
    expect((await row('categories', categoryId(1, 1))).usage_count).toBe(0);
  });

  it('hands every result to onResults, and a failing hook does not fail an upload that was applied', async () => {
    hookCalls.length = 0;
    hookFails = true;
    const batch = [
      { op: 'PUT', table: 'records', id: 'hooked', data: { workspace_id: WS1, title: 'hooked' } },
      { op: 'PUT', table: 'records', id: 'hooked-2', data: { workspace_id: WS4, title: 'forbidden' } }
    ];
    const { status, body } = await h.upload(alice, batch);
    hookFails = false;
    expect(status).toBe(200);
    expect(body.results.map((r: OperationResult) => r.ok)).toEqual([true, false]);
    expect(await row('records', 'hooked')).toMatchObject({ title: 'hooked' });
    expect(hookCalls).toEqual([{ userId: DEMO_USERS.alice.id, results: body.results, batch }]);
  });
});
