import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventually, openTestClient, type TestClient, tokenConnector } from '../testing/client-harness.ts';
import { type DevServerHarness, startDevServerHarness } from '../testing/dev-server-harness.ts';

const ref = readReference;
const WS1 = '1#by_workspace["ws-1"]';

describe('injected faults as the real @powersync/node client experiences them', () => {
  let h: DevServerHarness;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'faults',
      sourceSql: ref('seed.sql'),
      rulesYaml: ref('sync-rules.yaml'),
      keepaliveMs: 1000
    });
  });
  afterEach(async () => {
    h.server.faults.set({});
    for (const c of clients.splice(0)) await c.close();
    vi.restoreAllMocks();
  });
  afterAll(async () => h?.close());

  async function connect(userId = 'u-alice', ttlSeconds = 300) {
    const client = await openTestClient();
    clients.push(client);
    const connector = tokenConnector(h.server.url, () => h.token(userId, { ttlSeconds }));
    await client.db.connect(connector, { retryDelayMs: 200 });
    return { ...client, connector };
  }
  const count = async (client: TestClient, sql: string) => (await client.db.get<{ n: number }>(sql)).n;

  it('omitted row: the client syncs consistently but lacks the row Postgres has', async () => {
    h.server.faults.set({ omitRows: [{ table: 'records', id: 'rec-1' }] });
    const client = await connect();
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(15_000) });
    expect(await client.db.getOptional("SELECT id FROM records WHERE id = 'rec-1'")).toBeNull();
    expect(await count(client, "SELECT count(*) AS n FROM records WHERE workspace_id = 'ws-1'")).toBe(3);
    const inPostgres = await h.source.query("SELECT 1 FROM records WHERE id = 'rec-1'");
    expect(inPostgres.rowCount).toBe(1);
  });

  it('corrupted checksum: the checksum-failure retry loop, never hasSynced; healing the fault lets it sync', async () => {
    const warnings: string[] = [];
    for (const level of ['warn', 'error', 'log'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')));
    }
    h.server.faults.set({ corruptChecksums: [WS1] });
    const opened = h.server.stats.streamsOpened;
    const client = await connect();
    await new Promise((r) => setTimeout(r, 4000));
    expect(client.db.currentStatus.hasSynced).toBeFalsy();
    expect(h.server.stats.streamsOpened - opened).toBeGreaterThanOrEqual(2);
    expect(warnings.some((w) => w.includes("Checksums didn't match"))).toBe(true);
    h.server.faults.set({});
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
    expect(client.db.currentStatus.hasSynced).toBe(true);
  });

  it('stalled replication: changes stop arriving and lag grows; they arrive once it resumes', async () => {
    const client = await connect();
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(15_000) });
    h.server.faults.set({ stallReplication: true });
    await h.source.query("UPDATE records SET title = 'during stall' WHERE id = 'rec-1'");
    await new Promise((r) => setTimeout(r, 2500));
    expect(
      (await client.db.get<{ title: string }>("SELECT title FROM records WHERE id = 'rec-1'")).title
    ).toBe('Record 1');
    expect(h.server.replicator.lagSeconds).toBeGreaterThan(1.5);
    h.server.faults.set({});
    await eventually(async () =>
      expect(
        (await client.db.get<{ title: string }>("SELECT title FROM records WHERE id = 'rec-1'")).title
      ).toBe('during stall')
    );
    await h.source.query("UPDATE records SET title = 'Record 1' WHERE id = 'rec-1'");
  });

  it('dropped mid-checkpoint: the client reconnects and resumes from where it got to', async () => {
    // The client logs each cut connection as a sync error; expected here.
    vi.spyOn(console, 'error').mockImplementation(() => {});
    h.server.faults.set({ dropStreamMidCheckpoint: true });
    const opened = h.server.stats.streamsOpened;
    const client = await connect();
    await eventually(
      async () => expect(h.server.stats.streamsOpened - opened).toBeGreaterThanOrEqual(2),
      10_000
    );
    expect(client.db.currentStatus.hasSynced).toBeFalsy();
    h.server.faults.set({});
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(15_000) });
    expect(await count(client, 'SELECT count(*) AS n FROM records')).toBe(8);
  });

  it('delay: every line waits, so the first sync takes at least the delay per line', async () => {
    h.server.faults.set({ delayMs: 300 });
    const started = Date.now();
    const client = await connect();
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(15_000) });
    // checkpoint + two data lines + checkpoint_complete
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 300);
  });

  it('restart mid-stream: the client reconnects, resumes and ends equal to Postgres without a checksum failure', async () => {
    const warnings: string[] = [];
    for (const level of ['warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void warnings.push(args.join(' ')));
    }
    const client = await connect();
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(15_000) });
    await h.restart();
    await h.source.query(
      "INSERT INTO records VALUES ('rec-after-restart', 'ws-2', 'after restart', 7, 'cat-2-1', now())"
    );
    await eventually(
      async () =>
        expect(
          await client.db.getOptional("SELECT id FROM records WHERE id = 'rec-after-restart'")
        ).not.toBeNull(),
      20_000
    );
    const expected = await h.source.query(
      "SELECT id FROM records WHERE workspace_id IN ('ws-1','ws-2') ORDER BY id"
    );
    const actual = await client.db.getAll<{ id: string }>('SELECT id FROM records ORDER BY id');
    expect(actual.map((r) => r.id).sort()).toEqual(expected.rows.map((r) => r.id).sort());
    expect(warnings.filter((w) => w.includes("Checksums didn't match"))).toEqual([]);
  });

  it('a token that expires mid-stream is refreshed and sync carries on', async () => {
    const client = await connect('u-alice', 3);
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(15_000) });
    await new Promise((r) => setTimeout(r, 4500));
    await h.source.query("UPDATE categories SET usage_count = 999 WHERE id = 'cat-1-1'");
    await eventually(
      async () =>
        expect(
          (
            await client.db.get<{ usage_count: number }>(
              "SELECT usage_count FROM categories WHERE id = 'cat-1-1'"
            )
          ).usage_count
        ).toBe(999),
      20_000
    );
    expect(client.connector.credentialFetches).toBeGreaterThanOrEqual(2);
  });
});
