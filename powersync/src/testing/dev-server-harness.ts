import { randomBytes } from 'node:crypto';
import { findFreePort, type Logger } from '@syncscope/core';
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
  /** Stops the server and starts it again, with changed rules if given (a redeploy, as the service does it). */
  restart(options?: { rulesYaml?: string }): Promise<void>;
  /** Resolves once no rules version is reprocessing (a redeploy has switched). */
  redeployed(timeoutMs?: number): Promise<void>;
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
  /** `api.parameters` of the service config (the PSYNC_S2305 limits). */
  apiParameters?: NonNullable<ServiceConfig['api']>['parameters'];
  /** Receives the server's log (default: silent unless SYNCSCOPE_TEST_LOG is set). */
  logger?: Logger;
  retireDelayMs?: number;
}): Promise<DevServerHarness> {
  const sourceUrl = await createTestDatabase(`${options.name}_src`);
  const storageUrl = await createTestDatabase(`${options.name}_storage`);
  const source = new pg.Pool({ connectionString: sourceUrl, max: 4 });
  await source.query(options.sourceSql);
  const secret = randomBytes(32);
  const port = await findFreePort();
  const hs256 = hs256DevConfig({ sourceUrl, storageUrl, port, secret, rulesYaml: options.rulesYaml });
  let loaded = {
    ...hs256,
    config: {
      ...hs256.config,
      client_auth: options.clientAuth ?? hs256.config.client_auth,
      api: { tokens: hs256.config.api?.tokens ?? [], parameters: options.apiParameters }
    }
  };
  const logger =
    options.logger ?? (await import('pino')).default({ level: process.env.SYNCSCOPE_TEST_LOG ?? 'silent' });
  const start = () =>
    startDevSyncServer({
      loaded,
      faults: options.faults,
      logger,
      keepaliveMs: options.keepaliveMs,
      retireDelayMs: options.retireDelayMs
    });
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
    async redeployed(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (harness.server.versions.deploying) {
        if (Date.now() > deadline) throw new Error(`the redeploy did not switch within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async restart(restartOptions = {}) {
      await harness.server.close();
      if (restartOptions.rulesYaml !== undefined) loaded = { ...loaded, syncRulesYaml: restartOptions.rulesYaml };
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
