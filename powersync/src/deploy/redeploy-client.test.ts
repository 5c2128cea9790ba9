import { column, Schema, Table } from '@powersync/node';
import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openTestClient, type TestClient, tokenConnector } from '../testing/client-harness.ts';
import {
  type DevServerHarness,
  startDevServerHarness,
  TEST_API_TOKEN
} from '../testing/dev-server-harness.ts';

/** Rows in ws-5 (u-alice is not a member) so that reprocessing takes seconds. */
const BIG_ROWS = 20_000;

const schema = new Schema({
  records: new Table({
    workspace_id: column.text,
    title: column.text,
    amount: column.text,
    category_id: column.text,
    created_at: column.text
  }),
  categories: new Table({ workspace_id: column.text, name: column.text, usage_count: column.integer }),
  workspaces: new Table({ name: column.text })
});

type Diagnostics = { data: Record<string, { connections: Record<string, unknown>[] } | unknown> };

/**
 * A diagnostics answer reduced to what the captures' states differ in: which keys each version has, its
 * version and initial_replication_done; the values of *_ts, last_lsn and replication_lag_bytes are ignored.
 */
function state(body: Diagnostics): string {
  const version = (key: string) => {
    const rules = body.data[key] as { connections: Record<string, unknown>[]; errors: unknown[] } | undefined;
    if (!rules) return null;
    const c = rules.connections[0]!;
    return {
      keys: Object.keys(c),
      version: String(c.slot_name).split('_')[1],
      done: c.initial_replication_done,
      tables: (c.tables as { name: string }[]).map((t) => t.name).sort(),
      errors: rules.errors
    };
  };
  return JSON.stringify({
    keys: Object.keys(body.data),
    active: version('active_sync_rules'),
    deploying: version('deploying_sync_rules')
  });
}

const capturedStates = [1, 2, 3, 4, 5, 6, 7].map((n) =>
  state(JSON.parse(readReference(`redeploy-diagnostics-${n}.json`)))
);

describe('a redeploy as the real @powersync/node client sees it', () => {
  let h: DevServerHarness;
  let client: TestClient;

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'redeploy_client',
      sourceSql: readReference('seed.sql'),
      rulesYaml: readReference('sync-rules.yaml'),
      retireDelayMs: 1_000
    });
    await h.source.query(
      `INSERT INTO records SELECT 'big-'||i, 'ws-5', 'Big '||i, 1, 'cat-5-1', now() FROM generate_series(1, ${BIG_ROWS}) i`
    );
    await h.caughtUp(60_000);
    client = await openTestClient(schema);
  }, 180_000);
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  it('keeps syncing on version 1 during reprocessing, reconnects at the switch and gets version 2 data', async () => {
    const seen: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const response = await fetch(`${h.server.url}/api/admin/v1/diagnostics`, {
          method: 'POST',
          headers: { Authorization: `Token ${TEST_API_TOKEN}`, 'Content-Type': 'application/json' },
          body: '{}'
        });
        const s = state((await response.json()) as Diagnostics);
        if (seen.at(-1) !== s) seen.push(s);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    await client.db.connect(
      tokenConnector(h.server.url, () => h.token('u-alice')),
      { retryDelayMs: 200 }
    );
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(30_000) });
    const records = async () => (await client.db.getAll<{ id: string }>('SELECT id FROM records')).length;
    expect(await records()).toBe(8);
    const streamsBefore = h.server.stats.streamsOpened;

    await h.server.deploy(readReference('sync-rules-B.yaml'));
    expect(h.server.versions.deploying).not.toBeNull();
    await h.source.query(
      "INSERT INTO records (id, workspace_id, title) VALUES ('rec-live', 'ws-1', 'during reprocessing')"
    );
    await eventually(async () => expect(await records()).toBe(9), 30_000, 20);
    // The change came through version 1: version 2 was still reprocessing.
    expect(h.server.versions.deploying).not.toBeNull();
    expect(await client.db.getAll('SELECT id FROM workspaces')).toEqual([]);

    await h.redeployed(120_000);
    // The version 1 stream ended at the switch; the client reconnected and downloaded version 2.
    await eventually(
      async () =>
        expect(await client.db.getAll('SELECT id, name FROM workspaces ORDER BY id')).toEqual([
          { id: 'ws-1', name: 'Workspace 1' },
          { id: 'ws-2', name: 'Workspace 2' }
        ]),
      30_000
    );
    expect(h.server.stats.streamsOpened).toBeGreaterThan(streamsBefore);
    expect(await records()).toBe(9);
    expect(client.db.currentStatus.connected).toBe(true);
    polling = false;
    await poller;

    // Every state seen is one of the captured states, in the captured order, from version 1 alone to version 2 alone.
    const indexes = seen.map((s) => capturedStates.indexOf(s));
    expect(indexes, seen.filter((_s, i) => indexes[i] === -1).join('\n')).not.toContain(-1);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(indexes[0]).toBe(0);
    expect(indexes.at(-1)).toBe(6);
    // The snapshot stage lasts the whole copy, so a 10 ms poll cannot miss it.
    expect(indexes).toContain(3);
  }, 240_000);
});
