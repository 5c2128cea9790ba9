import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../testing/captured-log.ts';
import { type DevServerHarness, readSyncStream, startDevServerHarness } from '../testing/dev-server-harness.ts';

/** The 1,500 `lim-*` records of seed-extra.sql (its 200,000 `big-*` rows only slow reprocessing down). */
const limRecords = readReference('seed-extra.sql')
  .split('\n')
  .find((l) => l.includes("'lim-'"))!;

async function openStream(h: DevServerHarness, parameters?: Record<string, unknown>) {
  const response = await fetch(`${h.server.url}/sync/stream`, {
    method: 'POST',
    headers: { Authorization: `Token ${await h.token('u-alice')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      buckets: [],
      include_checksum: true,
      raw_data: true,
      client_id: 'ref',
      ...(parameters ? { parameters } : {})
    })
  });
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
}

const recordIds = Array.from({ length: 1500 }, (_, i) => `lim-${i + 1}`);

describe('PSYNC_S2305: the service 1.25 limits on parameter query results and buckets', () => {
  let h: DevServerHarness;
  const log = capturedLogger();

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'bucket_limit',
      sourceSql: `${readReference('seed.sql')}\n${limRecords}`,
      rulesYaml: readReference('sync-rules-C.yaml'),
      logger: log.logger
    });
  });
  afterAll(async () => h?.close());

  it('rules C: 1,504 parameter query results answer HTTP 500 with the captured JSON body and log line', async () => {
    const answer = await openStream(h);
    expect(answer.status).toBe(500);
    expect(answer.contentType).toContain('application/json');
    expect(answer.body).toBe(readReference('stream-bucket-limit-alice.ndjson'));
    const captured = JSON.parse(
      readReference('bucket-limit-log.txt')
        .split('\n')
        .find((l) => l.includes('Invoked parameter queries'))!
    );
    const logged = log.lines.find((l) => String(l.msg).includes('Invoked parameter queries'))!;
    expect(logged.msg).toBe(captured.message);
    expect(logged.parameterResults).toEqual(captured.parameterResults);
    expect(logged.user_id).toBe('u-alice');
  });

  it('rules D: 1,502 buckets answer HTTP 500 with the captured body and the breakdown by definition', async () => {
    // A restart with changed rules reprocesses them while the old version serves: wait for the switch.
    await h.restart({ rulesYaml: readReference('sync-rules-D.yaml') });
    await h.redeployed();
    const answer = await openStream(h, { record_ids: recordIds });
    expect(answer.status).toBe(500);
    expect(answer.contentType).toContain('application/json');
    expect(answer.body).toBe(readReference('stream-bucket-limit-too-many-buckets-alice.ndjson'));
    const captured = JSON.parse(
      readReference('bucket-limit-log.txt')
        .split('\n')
        .find((l) => l.includes('Buckets by bucket definition'))!
    );
    const logged = log.lines.find((l) => String(l.msg).includes('Buckets by bucket definition'))!;
    expect(logged.msg).toBe(captured.message);
    expect(logged.buckets).toBe(1502);
    expect(logged.buckets_by_definition).toEqual(captured.buckets_by_definition);
    // Below the limit the same rules sync: 998 records plus the two workspaces.
    const fine = await readSyncStream(
      h.server.url,
      await h.token('u-alice'),
      { buckets: [], parameters: { record_ids: recordIds.slice(0, 998) } },
      (line) => 'checkpoint' in line
    );
    expect(fine.status).toBe(200);
    expect((fine.lines[0]!.checkpoint as { buckets: unknown[] }).buckets).toHaveLength(1000);
  });
});

describe('PSYNC_S2305 limits from the service config (api.parameters)', () => {
  let h: DevServerHarness;

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'bucket_limit_cfg',
      sourceSql: readReference('seed.sql'),
      rulesYaml: readReference('sync-rules-C.yaml'),
      apiParameters: { max_buckets_per_connection: 5, max_parameter_query_results: 10 }
    });
  });
  afterAll(async () => h?.close());

  it('applies max_buckets_per_connection and max_parameter_query_results from the config', async () => {
    // seed.sql: u-alice has 2 workspaces, ws-1 has 4 records → 2 + 4 parameter results, 6 buckets.
    const answer = await openStream(h);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'PSYNC_S2305', description: 'Too many buckets: 6 (limit of 5)', name: 'ServiceError' }
    });
  });

  it('a limit crossed while a stream is open cuts the stream short, without a last line, as the service does', async () => {
    await h.source.query("DELETE FROM records WHERE id IN ('rec-6', 'rec-11')");
    await h.caughtUp();
    const controller = new AbortController();
    const response = await fetch(`${h.server.url}/sync/stream`, {
      method: 'POST',
      headers: { Authorization: `Token ${await h.token('u-alice')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ buckets: [], include_checksum: true, raw_data: true }),
      signal: controller.signal
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('checkpoint_complete')) text += new TextDecoder().decode((await reader.read()).value);
    await h.source.query(
      "INSERT INTO records (id, workspace_id, title) VALUES ('rec-x1', 'ws-1', 'x1'), ('rec-x2', 'ws-1', 'x2')"
    );
    const ended = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return 'clean end';
          text += new TextDecoder().decode(value);
        }
      } catch {
        return 'cut short';
      }
    })();
    expect(ended).toBe('cut short');
    expect(text).not.toContain('PSYNC_S2305');
    controller.abort();
  });
});
