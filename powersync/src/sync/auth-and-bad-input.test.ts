import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

const ref = readReference;
const untilComplete = (l: Record<string, unknown>) => 'checkpoint_complete' in l;

describe('auth and bad input on the sync API', () => {
  let h: DevServerHarness;
  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'bad_input',
      sourceSql: ref('seed.sql'),
      rulesYaml: ref('sync-rules.yaml')
    });
  });
  afterAll(async () => h?.close());

  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${h.server.url}/sync/stream`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body
    });

  it('401 PSYNC_S2106 without a token', async () => {
    const response = await post({}, '{}');
    expect(response.status).toBe(401);
    expect((await response.json()).error).toMatchObject({
      code: 'PSYNC_S2106',
      status: 401,
      name: 'AuthorizationError'
    });
  });

  it('401 PSYNC_S2101 for an unknown kid or a wrong signature', async () => {
    const unknownKid = await readSyncStream(
      h.server.url,
      await h.token('u-alice', { kid: 'nope' }),
      {},
      untilComplete
    );
    expect(unknownKid.status).toBe(401);
    expect((unknownKid.lines[0] as any).error.code).toBe('PSYNC_S2101');
    expect((unknownKid.lines[0] as any).error.description).toContain('nope');
    const wrongKey = await readSyncStream(
      h.server.url,
      await h.token('u-alice', { secret: new Uint8Array(32).fill(7) }),
      {},
      untilComplete
    );
    expect(wrongKey.status).toBe(401);
    expect((wrongKey.lines[0] as any).error.code).toBe('PSYNC_S2101');
  });

  it('401 PSYNC_S2105 for a wrong audience', async () => {
    const result = await readSyncStream(
      h.server.url,
      await h.token('u-alice', { aud: 'someone-else' }),
      {},
      untilComplete
    );
    expect(result.status).toBe(401);
    expect((result.lines[0] as any).error.code).toBe('PSYNC_S2105');
  });

  it('401 PSYNC_S2104 for a token that lives longer than a day', async () => {
    const result = await readSyncStream(
      h.server.url,
      await h.token('u-alice', { ttlSeconds: 90_000 }),
      {},
      untilComplete
    );
    expect(result.status).toBe(401);
    expect((result.lines[0] as any).error.code).toBe('PSYNC_S2104');
  });

  it('an expired token gets 200 and the single line {"token_expires_in":0}, as the real service answers', async () => {
    const result = await readSyncStream(
      h.server.url,
      await h.token('u-alice', { ttlSeconds: -10 }),
      {},
      () => false,
      5000
    );
    expect(result.status).toBe(200);
    expect(result.lines).toEqual([{ token_expires_in: 0 }]);
  });

  it('400 with the field named for a malformed body, and the server keeps serving', async () => {
    const token = await h.token('u-alice');
    const notJson = await post({ Authorization: `Token ${token}` }, '{not json');
    expect(notJson.status).toBe(400);
    const badBuckets = await post(
      { Authorization: `Token ${token}` },
      JSON.stringify({ buckets: [{ name: 'x', after: 'abc' }] })
    );
    expect(badBuckets.status).toBe(400);
    expect((await badBuckets.json()).error.description).toContain('buckets.0.after');
    const ok = await readSyncStream(h.server.url, token, {}, untilComplete);
    expect(ok.status).toBe(200);
  });

  it('a client after beyond the last op id gets the checkpoint and no data (its checksum check then resets the bucket)', async () => {
    const token = await h.token('u-alice');
    const result = await readSyncStream(
      h.server.url,
      token,
      { buckets: [{ name: '1#by_workspace["ws-1"]', after: '999999' }] },
      untilComplete
    );
    expect(result.status).toBe(200);
    const dataBuckets = result.lines.filter((l) => 'data' in l).map((l) => (l as any).data.bucket);
    expect(dataBuckets).toEqual(['1#by_workspace["ws-2"]']);
    expect((await fetch(`${h.server.url}/probes/liveness`)).status).toBe(200);
  });

  it('write checkpoints need a valid token', async () => {
    const response = await fetch(`${h.server.url}/write-checkpoint2.json?client_id=x`);
    expect(response.status).toBe(401);
    const ok = await fetch(`${h.server.url}/write-checkpoint2.json?client_id=x`, {
      headers: { Authorization: `Token ${await h.token('u-alice')}` }
    });
    expect(ok.status).toBe(200);
    expect((await ok.json()).data.write_checkpoint).toMatch(/^\d+$/);
  });
});
