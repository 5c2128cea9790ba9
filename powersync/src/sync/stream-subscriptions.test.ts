import { column, Schema, Table } from '@powersync/node';
import { putChecksum } from '@syncscope/core/checksums/op-checksum';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestClient, type TestClient, tokenConnector } from '../testing/client-harness.ts';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

const SOURCE = `
CREATE TABLE lists(id text primary key, owner_id text, name text);
CREATE TABLE todos(id text primary key, list_id text, description text);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO lists VALUES ('l1', 'u-1', 'Groceries'), ('l2', 'u-1', 'Chores'), ('l3', 'u-2', 'Other');
INSERT INTO todos VALUES ('t1', 'l1', 'Milk'), ('t2', 'l1', 'Eggs'), ('t3', 'l2', 'Dishes'), ('t4', 'l3', 'Walk');`;

// my_lists comes by default; the two todo streams only when the client subscribes.
const RULES = `config:
  edition: 2
streams:
  my_lists:
    auto_subscribe: true
    query: SELECT * FROM lists WHERE owner_id = auth.user_id()
  list_todos:
    query: SELECT * FROM todos WHERE list_id = subscription.parameter('list_id')
  todos_by_ids:
    query: SELECT * FROM todos WHERE id IN subscription.parameter('ids')
`;

const TODOS = {
  t1: '{"id":"t1","list_id":"l1","description":"Milk"}',
  t2: '{"id":"t2","list_id":"l1","description":"Eggs"}',
  t3: '{"id":"t3","list_id":"l2","description":"Dishes"}'
};
const LISTS = {
  l1: '{"id":"l1","owner_id":"u-1","name":"Groceries"}',
  l2: '{"id":"l2","owner_id":"u-1","name":"Chores"}'
};
/** A bucket's checksum as the service sends it: the signed sum of its PUTs' checksums. */
const bucketChecksum = (table: string, rows: Record<string, string>) =>
  Object.entries(rows).reduce((sum, [id, json]) => (sum + putChecksum(table, id, json)) | 0, 0);

const subscription = (stream: string, parameters: unknown, override_priority: number | null = null) => ({
  stream,
  parameters,
  override_priority
});

type Checkpoint = {
  buckets: { bucket: string; checksum: number; count: number; priority: number; subscriptions: unknown[] }[];
  streams: unknown[];
};

describe('explicit stream subscriptions on the dev sync server', () => {
  let h: DevServerHarness;
  let client: TestClient | null = null;
  beforeAll(async () => {
    h = await startDevServerHarness({ name: 'stream_subs', sourceSql: SOURCE, rulesYaml: RULES });
  });
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  async function firstCheckpoint(streams?: unknown) {
    const { status, lines } = await readSyncStream(
      h.server.url,
      await h.token('u-1'),
      streams === undefined ? {} : { streams },
      (l) => 'checkpoint_complete' in l
    );
    expect(status).toBe(200);
    const checkpoint = (lines[0] as { checkpoint: Checkpoint }).checkpoint;
    const byBucket = new Map(checkpoint.buckets.map((b) => [b.bucket, b]));
    return { checkpoint, byBucket, lines };
  }

  it('without subscriptions: only the default stream is listed and synced', async () => {
    const { checkpoint } = await firstCheckpoint();
    expect(checkpoint.streams).toEqual([{ name: 'my_lists', is_default: true, errors: [] }]);
    expect(checkpoint.buckets).toEqual([
      {
        bucket: '1#my_lists|0["u-1"]',
        checksum: bucketChecksum('lists', LISTS),
        count: 2,
        priority: 3,
        subscriptions: [{ default: 0 }]
      }
    ]);
  });

  it('subscriptions: {sub: i} per bucket, merged when two give one bucket, the override priority first; an unknown stream left out', async () => {
    const { checkpoint, byBucket, lines } = await firstCheckpoint({
      include_defaults: true,
      subscriptions: [
        subscription('list_todos', { list_id: 'l1' }, 1),
        subscription('list_todos', { list_id: 'l1' }),
        subscription('list_todos', { list_id: 'l2' }),
        subscription('no_such_stream', {})
      ]
    });
    // Rules order; the default stream keeps is_default; the unknown name is simply absent.
    expect(checkpoint.streams).toEqual([
      { name: 'my_lists', is_default: true, errors: [] },
      { name: 'list_todos', is_default: false, errors: [] }
    ]);
    expect(byBucket.get('1#my_lists|0["u-1"]')?.subscriptions).toEqual([{ default: 0 }]);
    expect(byBucket.get('1#list_todos|0["l1"]')).toEqual({
      bucket: '1#list_todos|0["l1"]',
      checksum: bucketChecksum('todos', { t1: TODOS.t1, t2: TODOS.t2 }),
      count: 2,
      priority: 1,
      subscriptions: [{ sub: 0 }, { sub: 1 }]
    });
    expect(byBucket.get('1#list_todos|0["l2"]')).toEqual({
      bucket: '1#list_todos|0["l2"]',
      checksum: bucketChecksum('todos', { t3: TODOS.t3 }),
      count: 1,
      priority: 3,
      subscriptions: [{ sub: 2 }]
    });
    expect(checkpoint.buckets).toHaveLength(3);
    // The overridden priority is sent first, with its own partial completion.
    expect(lines.slice(1, 3)).toMatchObject([
      { data: { bucket: '1#list_todos|0["l1"]' } },
      { partial_checkpoint_complete: { priority: 1 } }
    ]);
  });

  it('include_defaults false: only what the client subscribed to', async () => {
    const { checkpoint } = await firstCheckpoint({
      include_defaults: false,
      subscriptions: [subscription('list_todos', { list_id: 'l2' })]
    });
    expect(checkpoint.streams).toEqual([{ name: 'list_todos', is_default: false, errors: [] }]);
    expect(checkpoint.buckets.map((b) => b.bucket)).toEqual(['1#list_todos|0["l2"]']);
  });

  it("a subscription the rules cannot resolve is named by its index in its stream's errors", async () => {
    const { checkpoint } = await firstCheckpoint({
      subscriptions: [
        subscription('todos_by_ids', { ids: ['t1', 't3'] }),
        subscription('todos_by_ids', { ids: 'not json' })
      ]
    });
    expect(checkpoint.streams).toEqual([
      { name: 'my_lists', is_default: true, errors: [] },
      {
        name: 'todos_by_ids',
        is_default: false,
        errors: [{ subscription: 1, message: expect.stringMatching(/^Error evaluating bucket ids: /) }]
      }
    ]);
    expect(checkpoint.buckets.filter((b) => b.bucket.startsWith('1#todos_by_ids'))).toEqual([
      expect.objectContaining({ bucket: '1#todos_by_ids|0["t1"]', subscriptions: [{ sub: 0 }] }),
      expect.objectContaining({ bucket: '1#todos_by_ids|0["t3"]', subscriptions: [{ sub: 0 }] })
    ]);
  });

  it('a checkpoint_diff names the subscriptions of the buckets it updates', async () => {
    let inserted = false;
    const { lines } = await readSyncStream(
      h.server.url,
      await h.token('u-1'),
      { streams: { subscriptions: [subscription('list_todos', { list_id: 'l1' })] } },
      (l) => {
        if ('checkpoint_complete' in l && !inserted) {
          inserted = true;
          void h.source.query("INSERT INTO todos VALUES ('t5', 'l1', 'Bread')");
        }
        return 'checkpoint_diff' in l;
      }
    );
    try {
      expect(lines.at(-1)).toMatchObject({
        checkpoint_diff: {
          removed_buckets: [],
          updated_buckets: [{ bucket: '1#list_todos|0["l1"]', count: 3, subscriptions: [{ sub: 0 }] }]
        }
      });
    } finally {
      await h.source.query("DELETE FROM todos WHERE id = 't5'");
    }
  });

  it('a real client that subscribes holds the subscribed list and nothing else, and sees its subscription synced', async () => {
    client = await openTestClient(
      new Schema({
        lists: new Table({ owner_id: column.text, name: column.text }),
        todos: new Table({ list_id: column.text, description: column.text })
      })
    );
    const handle = await client.db.syncStream('list_todos', { list_id: 'l1' }).subscribe();
    await client.db.connect(tokenConnector(h.server.url, () => h.token('u-1')));
    // Only resolves once the client matched the checkpoint's {sub: i} and streams to its subscription.
    await handle.waitForFirstSync(AbortSignal.timeout(20_000));
    const todos = await client.db.getAll<{ id: string }>('SELECT id FROM todos ORDER BY id');
    expect(todos.map((t) => t.id)).toEqual(['t1', 't2']);
    const lists = await client.db.getAll<{ id: string }>('SELECT id FROM lists ORDER BY id');
    expect(lists.map((l) => l.id)).toEqual(['l1', 'l2']);
    const status = client.db.currentStatus.forStream({ name: 'list_todos', parameters: { list_id: 'l1' } });
    expect(status?.subscription).toMatchObject({
      active: true,
      isDefault: false,
      hasExplicitSubscription: true
    });
    handle.unsubscribe();
  });
});
