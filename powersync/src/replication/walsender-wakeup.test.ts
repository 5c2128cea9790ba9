import { randomBytes } from 'node:crypto';
import { findFreePort } from '@syncscope/core';
import { readReference } from '@syncscope/core/testing/reference';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevSyncServer, startDevSyncServer } from '../dev-sync-server.ts';
import { eventually, openTestClient, type TestClient, tokenConnector } from '../testing/client-harness.ts';
import { hs256DevConfig, mintHs256Token } from '../testing/hs256-dev-config.ts';
import { startWalsenderStallProxy, type WalsenderStallProxy } from '../testing/walsender-stall-proxy.ts';

describe('a change the walsender holds back (missed wake-up) still reaches a connected client at once', () => {
  let source: pg.Pool;
  let proxy: WalsenderStallProxy;
  let server: DevSyncServer;
  let client: TestClient;

  beforeAll(async () => {
    const sourceUrl = await createTestDatabase('walsender_wakeup_src');
    const storageUrl = await createTestDatabase('walsender_wakeup_storage');
    source = new pg.Pool({ connectionString: sourceUrl, max: 2 });
    await source.query(readReference('seed.sql'));
    proxy = await startWalsenderStallProxy(sourceUrl);
    const secret = randomBytes(32);
    server = await startDevSyncServer({
      loaded: hs256DevConfig({
        sourceUrl: proxy.url(sourceUrl),
        storageUrl,
        port: await findFreePort(),
        secret,
        rulesYaml: readReference('sync-rules.yaml')
      }),
      logger: pino({ level: 'silent' })
    });
    client = await openTestClient();
    await client.db.connect(tokenConnector(server.url, () => mintHs256Token(secret, 'u-alice')));
    await client.db.waitForFirstSync({ signal: AbortSignal.timeout(20_000) });
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    await proxy?.close();
    await source?.end();
  });

  it('an insert committed while the walsender sleeps past it is on the client within 2 s', async () => {
    // Postgres 16+ can miss the wake-up of a commit that lands between the walsender's flush check and its
    // sleep (seen in the first minute after `npm start`): it then sends nothing until the replication
    // client speaks or its keepalive is due, 25–30 s later when the client last replied seconds before.
    proxy.stallUntilClientSpeaks();
    await source.query(
      "INSERT INTO records VALUES ('rec-stalled', 'ws-1', 'Stalled', 1, 'cat-1-1', '2026-02-01 10:00:00+00')"
    );
    const committedAt = Date.now();
    await eventually(
      async () => {
        const row = await client.db.getOptional<{ title: string }>('SELECT title FROM records WHERE id = ?', [
          'rec-stalled'
        ]);
        expect(row?.title).toBe('Stalled');
      },
      2_000,
      20
    );
    expect(Date.now() - committedAt).toBeLessThan(2_000);
  });
});
