import { column, Schema, Table } from '@powersync/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openTestClient, type TestClient, tokenConnector } from '../testing/client-harness.ts';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

const SOURCE = `
CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text);
CREATE TABLE records(id text primary key, workspace_id text, title text);
CREATE TABLE alerts(id text primary key, user_id text, message text);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO workspace_memberships VALUES ('m1', 'u-1', 'ws-1');
INSERT INTO records SELECT 'rec-'||i, 'ws-1', 'row '||i FROM generate_series(1, 2500) i;
INSERT INTO alerts VALUES ('a1', 'u-1', 'urgent'), ('a2', 'u-1', 'also urgent');`;

// Alerts sync first (priority 1), records after (default priority 3).
const RULES = `
bucket_definitions:
  urgent:
    priority: 1
    parameters: SELECT request.user_id() AS user_id
    data:
      - SELECT * FROM alerts WHERE user_id = bucket.user_id
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
`;

describe('paging, priorities and truncate', () => {
  let h: DevServerHarness;
  let client: TestClient | null = null;
  beforeAll(async () => {
    h = await startDevServerHarness({ name: 'paging', sourceSql: SOURCE, rulesYaml: RULES });
  });
  afterAll(async () => {
    await client?.close();
    await h?.close();
  });

  it('sends the priority-1 bucket first with a partial completion, and pages a big bucket with has_more', async () => {
    const { lines } = await readSyncStream(
      h.server.url,
      await h.token('u-1'),
      {},
      (l) => 'checkpoint_complete' in l
    );
    const kinds = lines.map((l) => Object.keys(l)[0]);
    expect(kinds[0]).toBe('checkpoint');
    const partial = kinds.indexOf('partial_checkpoint_complete');
    expect(partial).toBe(2);
    expect((lines[1] as any).data.bucket).toBe('1#urgent["u-1"]');
    expect((lines[partial] as any).partial_checkpoint_complete.priority).toBe(1);
    const recordPages = lines.filter((l: any) => l.data?.bucket === '1#by_workspace["ws-1"]') as any[];
    expect(recordPages.map((l) => l.data.data.length)).toEqual([1000, 1000, 500]);
    expect(recordPages.map((l) => l.data.has_more)).toEqual([true, true, false]);
    expect(recordPages[1].data.after).toBe(recordPages[0].data.next_after);
    expect(kinds.at(-1)).toBe('checkpoint_complete');
  });

  it('the real client holds every paged row, and a TRUNCATE empties the bucket on the client', async () => {
    client = await openTestClient(
      new Schema({
        records: new Table({ workspace_id: column.text, title: column.text }),
        alerts: new Table({ user_id: column.text, message: column.text })
      })
    );
    await client.db.connect(tokenConnector(h.server.url, () => h.token('u-1')));
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
    expect((await client.db.get<{ n: number }>('SELECT count(*) AS n FROM records')).n).toBe(2500);
    expect((await client.db.get<{ n: number }>('SELECT count(*) AS n FROM alerts')).n).toBe(2);
    await h.source.query('TRUNCATE records');
    await eventually(async () =>
      expect((await client!.db.get<{ n: number }>('SELECT count(*) AS n FROM records')).n).toBe(0)
    );
    expect((await client.db.get<{ n: number }>('SELECT count(*) AS n FROM alerts')).n).toBe(2);
  });
});
