import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort, loadOrCreateSigningKey } from '@syncscope/core';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { parseServiceConfig } from '@syncscope/powersync/config/load-service-config';
import { type DevSyncServer, startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import type { FaultSettings } from '@syncscope/powersync/faults/faults';
import pg from 'pg';
import pino from 'pino';
import YAML from 'yaml';
import { type DemoBackend, startDemoBackend } from '../backend/index.ts';
import { applyDemoSchema } from '../schema/index.ts';
import { seedDemoData } from '../seed/index.ts';

const RULES = readFileSync(
  fileURLToPath(new URL('../../../powersync/sync_rules.yaml', import.meta.url)),
  'utf8'
);
export const APP_AUDIENCE = 'powersync-dev';

export interface DemoStackHarness {
  sync: DevSyncServer;
  backend: DemoBackend;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** The demo stack (seeded app database, dev sync server, demo backend) inside the test run's Postgres. */
export async function startDemoStackHarness(
  name: string,
  options: { faults?: Partial<FaultSettings> } = {}
): Promise<DemoStackHarness> {
  const appUrl = await createTestDatabase(`${name}_app`);
  const storageUrl = await createTestDatabase(`${name}_storage`);
  const pool = new pg.Pool({ connectionString: appUrl, max: 6 });
  await applyDemoSchema(pool);
  await seedDemoData(pool, { records: 200 });
  const key = await loadOrCreateSigningKey(
    await mkdtemp(path.join(os.tmpdir(), 'syncscope-keys-')),
    'demo-app-test'
  );
  const [syncPort, backendPort] = [await findFreePort(), await findFreePort()];
  const config = {
    replication: { connections: [{ type: 'postgresql', uri: appUrl }] },
    storage: { type: 'postgresql', uri: storageUrl },
    port: syncPort,
    client_auth: { jwks: { keys: [key.publicJwk] }, audience: [APP_AUDIENCE] }
  };
  const logger = pino({ level: process.env.SYNCSCOPE_TEST_LOG ?? 'silent' });
  const sync = await startDevSyncServer({
    loaded: { ...parseServiceConfig(YAML.stringify(config)), syncRulesYaml: RULES, syncRulesPath: undefined },
    logger,
    faults: options.faults
  });
  const backend = await startDemoBackend({
    host: '127.0.0.1',
    port: backendPort,
    appDatabaseUrl: appUrl,
    signingKey: key,
    audience: APP_AUDIENCE,
    probeAudience: 'syncscope-probe',
    powersyncUrl: sync.url,
    demoMode: true,
    logger
  });
  return {
    sync,
    backend,
    pool,
    async close() {
      await backend.close();
      await sync.close();
      await pool.end();
    }
  };
}
