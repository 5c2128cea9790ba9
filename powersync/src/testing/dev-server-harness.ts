import { randomBytes } from 'node:crypto';
import { findFreePort } from '@syncscope/core';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import type { ServiceConfig } from '../config/service-config-schema.ts';
import { type DevSyncServer, startDevSyncServer } from '../dev-sync-server.ts';
import type { FaultSettings } from '../faults/faults.ts';
import { hs256DevConfig, type MintOptions, mintHs256Token } from './hs256-dev-config.ts';

export { TEST_API_TOKEN, TEST_AUDIENCE, TEST_KID } from './hs256-dev-config.ts';

export interface DevServerHarness {
  server: DevSyncServer;
  sourceUrl: string;
  storageUrl: string;
  source: pg.Pool;
  secret: Uint8Array;
  token(sub: string, options?: MintOptions): Promise<string>;
  /** Resolves once replication has passed everything committed in the source so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A dev sync server over throw-away source and storage databases in the test run's Postgres,
 * with an HS256 key for minting client tokens, as the reference captures were made.
 */
export async function startDevServerHarness(options: {
  name: string;
  sourceSql: string;
  rulesYaml: string;
  faults?: Partial<FaultSettings>;
  keepaliveMs?: number;
  /** Replaces the HS256 key's client_auth (the token helper still mints HS256 tokens). */
  clientAuth?: ServiceConfig['client_auth'];
}): Promise<DevServerHarness> {
  const sourceUrl = await createTestDatabase(`${options.name}_src`);
  const storageUrl = await createTestDatabase(`${options.name}_storage`);
  const source = new pg.Pool({ connectionString: sourceUrl, max: 4 });
  await source.query(options.sourceSql);
  const secret = randomBytes(32);
  const port = await findFreePort();
  const hs256 = hs256DevConfig({ sourceUrl, storageUrl, port, secret, rulesYaml: options.rulesYaml });
  const loaded = options.clientAuth
    ? { ...hs256, config: { ...hs256.config, client_auth: options.clientAuth } }
    : hs256;
  const silent = (await import('pino')).default({ level: process.env.SYNCSCOPE_TEST_LOG ?? 'silent' });
  const start = () =>
    startDevSyncServer({ loaded, faults: options.faults, logger: silent, keepaliveMs: options.keepaliveMs });
  const harness: DevServerHarness = {
    server: await start(),
    sourceUrl,
    storageUrl,
    source,
    secret,
    token: (sub, o = {}) => mintHs256Token(secret, sub, o),
    async caughtUp(timeoutMs = 15_000) {
      const { rows } = await source.query<{ lsn: string }>(
        "SELECT pg_logical_emit_message(false, 'powersync', 'test-barrier')::text AS lsn"
      );
      const target = rows[0]!.lsn;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows: cmp } = await source.query<{ passed: boolean }>(
          'SELECT $1::pg_lsn >= $2::pg_lsn AS passed',
          [harness.server.storage.checkpoint.lsn, target]
        );
        if (cmp[0]!.passed) return;
        if (Date.now() > deadline)
          throw new Error(`replication did not reach ${target} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async restart() {
      await harness.server.close();
      harness.server = await start();
    },
    async close() {
      await harness.server.close();
      await source.end();
    }
  };
  return harness;
}

export { readSyncStream } from './ndjson-stream-reader.ts';
