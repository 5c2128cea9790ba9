import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import type { ProbeTokenAuthorisation } from '@syncscope/core/probe/tokens/mint-probe-token';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { applyDemoSchema } from '@syncscope/demo/schema/index';
import { seedDemoData } from '@syncscope/demo/seed/index';
import { parseServiceConfig } from '@syncscope/powersync/config/load-service-config';
import { type DevSyncServer, startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import pg from 'pg';
import pino from 'pino';
import YAML from 'yaml';

export const RULES_FILE = fileURLToPath(new URL('../../../powersync/sync_rules.yaml', import.meta.url));
export const PROBE_KID = 'syncscope-probe-test';
export const PROBE_AUDIENCE = 'syncscope-probe';
export const API_TOKEN = 'probe-test-api-token-0123456789';

export interface ProbeHarness {
  target: ProbeTarget;
  /** A migrated ops database of the harness's own: probes audit their tokens in its audit_log. */
  ops: OpsDatabase;
  /** What runProbe needs to mint: actor and reason `test`, audited in `ops`. */
  authorisation: ProbeTokenAuthorisation;
  sync: DevSyncServer;
  pool: pg.Pool;
  secret: Uint8Array;
  restartSync(): Promise<void>;
  /** Starts the sync server again on its port, after a test stopped it (`sync.close()`). */
  startSync(): Promise<void>;
  close(): Promise<void>;
}

/** The demo data, a dev sync server that trusts a probe key, and a probe target pointing at both. */
export async function startProbeHarness(
  name: string,
  rulesYaml = readFileSync(RULES_FILE, 'utf8'),
  beforeStart: (pool: pg.Pool) => Promise<void> = async () => {},
  /** Service settings under `api` besides the token (e.g. the PSYNC_S2305 limits in `parameters`). */
  api: Record<string, unknown> = {}
): Promise<ProbeHarness> {
  const appUrl = await createTestDatabase(`${name}_app`);
  const storageUrl = await createTestDatabase(`${name}_storage`);
  const opsUrl = await createTestDatabase(`${name}_ops`);
  await migrateOpsDatabase(opsUrl);
  const ops = new OpsDatabase(opsUrl);
  const pool = new pg.Pool({ connectionString: appUrl, max: 4 });
  await applyDemoSchema(pool);
  await seedDemoData(pool, { records: 200 });
  // An explicit table list (instead of FOR ALL TABLES) so a test can drop one table from it.
  await pool.query(
    'DROP PUBLICATION powersync; CREATE PUBLICATION powersync FOR TABLE users, workspaces, workspace_memberships, records, categories'
  );
  await beforeStart(pool);
  const secret = randomBytes(32);
  const port = await findFreePort();
  const config = {
    replication: { connections: [{ type: 'postgresql', uri: appUrl }] },
    storage: { type: 'postgresql', uri: storageUrl },
    port,
    client_auth: {
      jwks: {
        keys: [{ kty: 'oct', alg: 'HS256', kid: PROBE_KID, k: Buffer.from(secret).toString('base64url') }]
      },
      audience: ['powersync-dev', PROBE_AUDIENCE]
    },
    api: { ...api, tokens: [API_TOKEN] }
  };
  const start = () =>
    startDevSyncServer({
      loaded: {
        ...parseServiceConfig(YAML.stringify(config)),
        syncRulesYaml: rulesYaml,
        syncRulesPath: undefined
      },
      logger: pino({ level: process.env.SYNCSCOPE_TEST_LOG ?? 'silent' })
    });
  const harness: ProbeHarness = {
    sync: await start(),
    pool,
    secret,
    ops,
    authorisation: { actor: 'test', reason: 'test', audit: ops },
    target: {
      name,
      syncUrl: `http://127.0.0.1:${port}`,
      adminUrl: `http://127.0.0.1:${port}`,
      adminToken: API_TOKEN,
      sourceUrl: appUrl,
      syncRulesYaml: rulesYaml,
      syncRulesFile: 'sync_rules.yaml',
      signing: { kind: 'hs256', kid: PROBE_KID, secret },
      audience: PROBE_AUDIENCE
    },
    async restartSync() {
      await harness.sync.close();
      await harness.startSync();
    },
    async startSync() {
      harness.sync = await start();
    },
    async close() {
      await harness.sync.close();
      await pool.end();
      await ops.close();
    }
  };
  return harness;
}

/** The variables a targets-file entry for the harness reads (`harnessTargetEntry`), by target name. */
export function harnessTargetEnv(h: ProbeHarness, name: string): Record<string, string> {
  const prefix = name.toUpperCase().replaceAll(/\W/g, '_');
  return {
    [`${prefix}_SOURCE_URL`]: h.target.sourceUrl,
    [`${prefix}_PROBE_SECRET`]: Buffer.from(h.secret).toString('base64url')
  };
}

/**
 * The harness as target `name` of a targets file (the lines under `targets:`): its rules in
 * `rulesFile` (relative to the targets file), its secrets from the variables of harnessTargetEnv.
 */
export function harnessTargetEntry(h: ProbeHarness, name: string, rulesFile: string): string {
  const [sourceUrl, secret] = Object.keys(harnessTargetEnv(h, name));
  return [
    `  ${name}:`,
    `    sync_url: ${h.target.syncUrl}`,
    `    source_url: !env ${sourceUrl}`,
    `    sync_rules: { path: ${rulesFile} }`,
    `    signing_key: { kid: ${PROBE_KID}, hs256_secret: !env ${secret} }`,
    `    audience: ${PROBE_AUDIENCE}`,
    ''
  ].join('\n');
}

/** A SyncScope home holding the harness as target `name` of its targets file, with `rulesYaml` beside it. */
export interface HarnessTargetsHome {
  dir: string;
  /** SYNCSCOPE_HOME, the target's secrets and the harness's ops database, as the CLI reads them. */
  env: NodeJS.ProcessEnv;
  remove(): Promise<void>;
}

/** Writes such a home; `targetLines` are appended under the target (e.g. a `schedule:`). */
export async function writeHarnessTargetsHome(
  h: ProbeHarness,
  name: string,
  rulesYaml: string,
  targetLines = ''
): Promise<HarnessTargetsHome> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `syncscope-${name}-home-`));
  await writeFile(path.join(dir, 'sync_rules.yaml'), rulesYaml);
  await writeFile(
    path.join(dir, 'targets.yaml'),
    `targets:\n${harnessTargetEntry(h, name, 'sync_rules.yaml')}${targetLines}`
  );
  return {
    dir,
    // The CLI audits its probe tokens in the harness's ops database.
    env: {
      SYNCSCOPE_HOME: dir,
      SYNCSCOPE_OPS_DATABASE_URL: h.ops.pool.options.connectionString,
      ...harnessTargetEnv(h, name)
    },
    remove: () => rm(dir, { recursive: true, force: true })
  };
}
