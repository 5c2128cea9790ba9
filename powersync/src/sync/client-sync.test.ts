import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openTestClient, type TestClient, tokenConnector } from '../testing/client-harness.ts';
import { type DevServerHarness, startDevServerHarness } from '../testing/dev-server-harness.ts';

const ref = readReference;

describe('the real @powersync/node client against the dev sync server', () => {
  let h: DevServerHarness;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'client_sync',
      sourceSql: ref('seed.sql'),
      rulesYaml: ref('sync-rules.yaml')
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });
  afterAll(async () => h?.close());

  async function connectAs(userId: string) {
    const client = await openTestClient();
    clients.push(client);
    await client.db.connect(tokenConnector(h.server.url, () => h.token(userId)));
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
    return client;
  }

  it('reaches hasSynced holding exactly the workspaces of u-alice', async () => {
    const { db } = await connectAs('u-alice');
    expect(db.currentStatus.hasSynced).toBe(true);
    // Field by field against Postgres, after the service's conversion (numeric as text, timestamptz as
    // UTC text with a space and Z, int as integer).
    const records = await db.getAll(
      'SELECT id, workspace_id, title, amount, category_id, created_at FROM records ORDER BY id'
    );
    const expected = await h.source.query(
      `SELECT id, workspace_id, title, amount::text AS amount, category_id,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z' AS created_at
       FROM records WHERE workspace_id IN ('ws-1','ws-2') ORDER BY id COLLATE "C"`
    );
    expect(records.length).toBe(8);
    expect(records).toEqual(expected.rows);
    const cats = await db.getAll('SELECT id, workspace_id, name, usage_count FROM categories ORDER BY id');
    const expectedCats = await h.source.query(
      `SELECT id, workspace_id, name, usage_count FROM categories WHERE workspace_id IN ('ws-1','ws-2') ORDER BY id COLLATE "C"`
    );
    expect(cats).toEqual(expectedCats.rows);
    const categories = await db.getAll<{ id: string }>('SELECT id FROM categories ORDER BY id');
    expect(categories.map((c) => c.id)).toEqual(['cat-1-1', 'cat-1-2', 'cat-2-1', 'cat-2-2']);
  });

  it('streams inserts, updates, deletes and membership changes live', async () => {
    const { db } = await connectAs('u-alice');
    await h.source.query(
      "INSERT INTO records VALUES ('rec-live', 'ws-1', 'Live', 1.5, 'cat-1-1', '2026-02-01 10:00:00+00')"
    );
    await eventually(async () =>
      expect(await db.getOptional('SELECT id FROM records WHERE id = ?', ['rec-live'])).not.toBeNull()
    );
    await h.source.query("UPDATE records SET title = 'Changed' WHERE id = 'rec-live'");
    await eventually(async () =>
      expect(
        (await db.get<{ title: string }>('SELECT title FROM records WHERE id = ?', ['rec-live'])).title
      ).toBe('Changed')
    );
    await h.source.query("DELETE FROM records WHERE id = 'rec-live'");
    await eventually(async () =>
      expect(await db.getOptional('SELECT id FROM records WHERE id = ?', ['rec-live'])).toBeNull()
    );

    await h.source.query("INSERT INTO workspace_memberships VALUES ('m-live', 'u-alice', 'ws-3', 'member')");
    await eventually(async () =>
      expect(
        (await db.get<{ n: number }>("SELECT count(*) AS n FROM records WHERE workspace_id = 'ws-3'")).n
      ).toBe(4)
    );
    await h.source.query("DELETE FROM workspace_memberships WHERE id = 'm-live'");
    await eventually(async () => {
      expect(
        (await db.get<{ n: number }>("SELECT count(*) AS n FROM records WHERE workspace_id = 'ws-3'")).n
      ).toBe(0);
      expect(
        (await db.get<{ n: number }>("SELECT count(*) AS n FROM categories WHERE workspace_id = 'ws-3'")).n
      ).toBe(0);
    });
  });
});
