import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PowerSyncDatabase } from '@powersync/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ArticleConnector, type RejectedOperation } from '../client/article-connector.ts';
import { demoClientSchema } from '../client/demo-client-schema.ts';
import { DEMO_USERS } from '../seed/index.ts';
import { categoryId, workspaceId } from '../seed/seed-plan.ts';
import { type DemoStackHarness, startDemoStackHarness } from '../testing/demo-stack-harness.ts';

async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const kv = async (db: PowerSyncDatabase, key: string) =>
  (await db.getOptional<{ v: string }>('SELECT CAST(value AS TEXT) AS v FROM ps_kv WHERE key = ?', [key]))
    ?.v ?? null;

describe('the write path: local write → demo backend → Postgres → replication → write checkpoint', () => {
  let h: DemoStackHarness;
  const opened: { db: PowerSyncDatabase; dir: string }[] = [];

  beforeAll(async () => {
    h = await startDemoStackHarness('write_path');
  });
  afterEach(async () => {
    h.sync.faults.set({});
    vi.restoreAllMocks();
    for (const { db, dir } of opened.splice(0)) {
      await db.disconnectAndClear().catch(() => {});
      await db.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });
  afterAll(async () => h?.close());

  async function connectAs(email: string, onRejected?: (f: RejectedOperation[]) => void) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-write-'));
    const db = new PowerSyncDatabase({
      schema: demoClientSchema,
      database: { dbFilename: 'app.db', dbLocation: dir }
    });
    opened.push({ db, dir });
    const connector = new ArticleConnector({ backendUrl: h.backend.url, email, onRejected });
    await db.connect(connector, { retryDelayMs: 300, crudUploadThrottleMs: 50 });
    await db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
    return { db, connector };
  }

  it("the article's writeTransaction lands in Postgres, comes back, and its write checkpoint completes", async () => {
    const { db } = await connectAs(DEMO_USERS.alice.email);
    const category = categoryId(1, 2);
    const before = await db.get<{ usage_count: number }>('SELECT usage_count FROM categories WHERE id = ?', [
      category
    ]);
    const recordId = crypto.randomUUID();
    await db.writeTransaction(async (tx) => {
      await tx.execute(
        'INSERT INTO records (id, workspace_id, title, amount, category_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [recordId, workspaceId(1), 'written offline', '19.990', category, '2026-05-01T09:00:00.000Z']
      );
      await tx.execute('UPDATE categories SET usage_count = usage_count + 1 WHERE id = ?', [category]);
    });
    await eventually(async () => {
      const row = await h.pool.query('SELECT title, amount::text AS amount FROM records WHERE id = $1', [
        recordId
      ]);
      expect(row.rows[0]).toEqual({ title: 'written offline', amount: '19.990' });
    });
    expect(
      (await h.pool.query('SELECT usage_count FROM categories WHERE id = $1', [category])).rows[0].usage_count
    ).toBe(before.usage_count + 1);
    await eventually(async () => {
      expect((await db.get<{ n: number }>('SELECT count(*) AS n FROM ps_crud')).n).toBe(0);
      const target = await kv(db, 'target_checkpoint_request_id');
      expect(target).not.toBeNull();
      expect(await kv(db, 'last_applied_checkpoint_request_id')).toBe(target);
    });
    expect(h.sync.stats.writeCheckpointsCreated).toBeGreaterThanOrEqual(1);
    // The synced row now comes from the server: its timestamp in the service's format.
    await eventually(async () =>
      expect(
        (await db.get<{ created_at: string }>('SELECT created_at FROM records WHERE id = ?', [recordId]))
          .created_at
      ).toBe('2026-05-01 09:00:00Z')
    );
  });

  it('a write the backend rejects as final is reported and does not block the queue', async () => {
    const rejected: RejectedOperation[] = [];
    const { db } = await connectAs(DEMO_USERS.alice.email, (f) => rejected.push(...f));
    const bad = crypto.randomUUID();
    const good = crypto.randomUUID();
    // Workspace 4 is not alice's: the backend refuses it for good.
    await db.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
      bad,
      workspaceId(4),
      'not allowed'
    ]);
    await db.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
      good,
      workspaceId(2),
      'allowed'
    ]);
    await eventually(async () =>
      expect((await h.pool.query('SELECT 1 FROM records WHERE id = $1', [good])).rowCount).toBe(1)
    );
    await eventually(async () =>
      expect((await db.get<{ n: number }>('SELECT count(*) AS n FROM ps_crud')).n).toBe(0)
    );
    expect(rejected).toEqual([
      expect.objectContaining({ id: bad, retryable: false, code: 'DEMO_E_FORBIDDEN' })
    ]);
    expect((await h.pool.query('SELECT 1 FROM records WHERE id = $1', [bad])).rowCount).toBe(0);
  });

  it('a write rejected as retryable is retried until it goes through', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { db, connector } = await connectAs(DEMO_USERS.alice.email);
    const id = crypto.randomUUID();
    const holder = await h.pool.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE records IN EXCLUSIVE MODE'); // the backend's lock_timeout fires: retryable
    const uploadsBefore = connector.uploads;
    await db.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
      id,
      workspaceId(1),
      'retry me'
    ]);
    await eventually(async () => expect(connector.uploads - uploadsBefore).toBeGreaterThanOrEqual(2), 20_000);
    expect((await db.get<{ n: number }>('SELECT count(*) AS n FROM ps_crud')).n).toBe(1);
    await holder.query('ROLLBACK');
    holder.release();
    await eventually(
      async () => expect((await h.pool.query('SELECT 1 FROM records WHERE id = $1', [id])).rowCount).toBe(1),
      20_000
    );
    await eventually(async () =>
      expect((await db.get<{ n: number }>('SELECT count(*) AS n FROM ps_crud')).n).toBe(0)
    );
  });

  it('a server that never echoes write checkpoints leaves the local write unacknowledged', async () => {
    const { db } = await connectAs(DEMO_USERS.alice.email);
    h.sync.faults.set({ neverEchoWriteCheckpoints: true });
    const id = crypto.randomUUID();
    await db.execute('INSERT INTO records (id, workspace_id, title) VALUES (?, ?, ?)', [
      id,
      workspaceId(1),
      'never acknowledged'
    ]);
    await eventually(async () =>
      expect((await h.pool.query('SELECT 1 FROM records WHERE id = $1', [id])).rowCount).toBe(1)
    );
    await eventually(async () =>
      expect((await db.get<{ n: number }>('SELECT count(*) AS n FROM ps_crud')).n).toBe(0)
    );
    await new Promise((r) => setTimeout(r, 2000));
    const target = await kv(db, 'target_checkpoint_request_id');
    expect(target).not.toBeNull();
    expect(await kv(db, 'last_applied_checkpoint_request_id')).not.toBe(target);
    h.sync.faults.set({});
    await eventually(async () =>
      expect(await kv(db, 'last_applied_checkpoint_request_id')).toBe(
        await kv(db, 'target_checkpoint_request_id')
      )
    );
  });
});
