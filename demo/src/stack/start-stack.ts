import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertPortFree, type Logger, loadOrCreateSigningKey, SyncScopeError } from '@syncscope/core';
import { startEmbeddedPostgres } from '@syncscope/core/embedded-postgres/embedded-postgres';
import { OPS_ROLE_NAMES, type OpsRole, opsRolePasswordFile } from '@syncscope/core/ops-db/ops-role-names';
import { setupOpsDatabase } from '@syncscope/core/ops-db/ops-roles';
import {
  DEMO_TARGET,
  demoStackFiles,
  ensureReadOnlyProbeRole,
  writeDemoTargetsFile
} from '@syncscope/core/probe/targets/demo-target';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { loadServiceConfig } from '@syncscope/powersync/config/load-service-config';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { createUploadResultsReporter, type UploadResultsReporter } from '@syncscope/reporter';
import pg from 'pg';
import { startDemoBackend } from '../backend/index.ts';
import { applyDemoSchema } from '../schema/index.ts';
import { DEMO_USERS, seedDemoData } from '../seed/index.ts';
import { DEMO_WRITE_PROBE } from '../seed/seed-plan.ts';
import { ensureConsoleBuilt } from './console-build.ts';
import { resetDemoConsoleUsers, rotateDemoIngestKey, startAgent, startConsole } from './console-process.ts';
import { ensureDatabases, STACK_DATABASES } from './databases.ts';
import { APP_AUDIENCE, PROBE_AUDIENCE, writeDevServiceConfig } from './dev-service-config.ts';
import { embeddedSuperuserPassword, loadOrCreateSecret } from './secrets.ts';
import { readStackConfig, type StackConfig } from './stack-config.ts';
import { startWriteProbeCredentialRotation } from './write-probe-credential.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SYNC_RULES_PATH = path.join(REPO_ROOT, 'powersync', 'sync_rules.yaml');
export const APP_KEY_ID = 'demo-app-1';
export const PROBE_KEY_ID = 'syncscope-probe-1';

export interface RunningStack {
  config: StackConfig;
  urls: {
    postgres: (db: string) => string;
    sync: string;
    syncMetrics: string | null;
    backend: string;
    agent: string;
    console: string | null;
  };
  /** `<home>/demo-credentials.txt` and its `email password` lines. */
  credentials: { file: string; lines: string[] };
  seeded: { users: number; records: number } | null;
  /** The ready message; the console passwords only when `showPasswords` (a terminal, not a log). */
  describe(readySeconds: string, options?: { showPasswords?: boolean }): string;
  stop(): Promise<void>;
}

/**
 * Starts the embedded demo stack: Postgres (logical replication), the demo schema and seed, the
 * development sync server and the demo backend. Anything started before a failure is stopped again.
 */
export async function startStack(options: {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /**
   * Light-probe every demo user once per this many seconds (`npm start`: the fleet view then has a
   * share of users verified). Off for tests, whose probe histories must hold only their own runs.
   */
  sweepPeriodSeconds?: number;
}): Promise<RunningStack> {
  const config = readStackConfig(options.env);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((e: unknown) => options.logger.warn({ err: String(e) }, 'stop failed'));
  };
  try {
    await assertStackPortsFree(config);
    const superuser = await embeddedSuperuserPassword(config);
    if (superuser.legacy)
      options.logger.warn(
        `The embedded Postgres in ${config.pgDataDir} still has the superuser password "postgres" it was made with; anyone on this machine can use it. Set SYNCSCOPE_PG_PASSWORD after changing it (ALTER ROLE ${config.SYNCSCOPE_PG_USER} PASSWORD '…'), or start from a new data folder, which gets a generated one.`
      );
    const postgres = await startEmbeddedPostgres({
      dataDir: config.pgDataDir,
      port: config.SYNCSCOPE_PG_PORT,
      host: config.SYNCSCOPE_BIND_HOST,
      user: config.SYNCSCOPE_PG_USER,
      password: superuser.password,
      portEnvVar: 'SYNCSCOPE_PG_PORT',
      onLog: (line) => options.logger.debug({ postgres: line })
    });
    stops.push(() => postgres.stop());
    await ensureDatabases(postgres.url('postgres'), Object.values(STACK_DATABASES));
    // The ops database's owner runs the migrations; the console and agent get roles of their own that
    // can only append to the audit log (passwords generated into 0600 files, like the other secrets).
    const ops = await setupOpsDatabase({
      superuserUrl: postgres.url(STACK_DATABASES.syncscope),
      passwords: await opsRolePasswords(config.home)
    });

    const appUrl = postgres.url(STACK_DATABASES.app);
    const appPool = new pg.Pool({ connectionString: appUrl, max: 4 });
    // An idle client that Postgres terminates while the stack stops must not crash the process.
    appPool.on('error', (err) => options.logger.debug({ err: err.message }, 'app pool client closed'));
    stops.push(() => appPool.end());
    await applyDemoSchema(appPool);
    const seeded = await seedDemoData(appPool, { records: config.SYNCSCOPE_SEED_RECORDS });

    const appKey = await loadOrCreateSigningKey(config.keysDir, APP_KEY_ID);
    const probeKey = await loadOrCreateSigningKey(config.keysDir, PROBE_KEY_ID);
    const apiToken =
      config.SYNCSCOPE_API_TOKEN ??
      (await loadOrCreateSecret(path.join(config.home, 'secrets', 'sync-api-token')));
    // The probe reads the source as the least-privilege role `syncscope source-role` prints for these
    // rules (only what they read, read-only); its password stays in a 0600 file like the others.
    await ensureReadOnlyProbeRole(
      appUrl,
      await loadOrCreateSecret(demoStackFiles(config.home).probeDbPassword),
      loadSyncRules(await readFile(SYNC_RULES_PATH, 'utf8'), { file: SYNC_RULES_PATH })
    );
    const host = config.SYNCSCOPE_BIND_HOST;
    const backendUrl = `http://${host}:${config.SYNCSCOPE_DEMO_PORT}`;
    const syncUrl = `http://${host}:${config.SYNCSCOPE_SYNC_PORT}`;

    const serviceConfigFile = await writeDevServiceConfig({
      dir: path.join(config.home, 'powersync'),
      sourceUrl: appUrl,
      storageUrl: postgres.url(STACK_DATABASES.powersyncStorage),
      port: config.SYNCSCOPE_SYNC_PORT,
      metricsPort: config.SYNCSCOPE_SYNC_METRICS_PORT,
      appJwksUri: `${backendUrl}/.well-known/jwks.json`,
      probeKey,
      apiToken,
      syncRulesPath: SYNC_RULES_PATH
    });
    const sync = await startDevSyncServer({
      loaded: await loadServiceConfig(serviceConfigFile),
      host,
      logger: options.logger.child({ part: 'dev-sync-server' })
    });
    stops.push(() => sync.close());

    // The backend reports every upload batch's results to the console (upload errors, stuck queues).
    // Administration (the demo accounts, the backend's ingest key) is the owner's: the app roles may not.
    const opsUrl = ops.urls.owner;
    const consoleUrl =
      config.SYNCSCOPE_CONSOLE === 'on' ? `http://${host}:${config.SYNCSCOPE_DASHBOARD_PORT}` : null;
    let reporter: UploadResultsReporter | undefined;
    if (consoleUrl) {
      reporter = createUploadResultsReporter({
        url: `${consoleUrl}/api/ingest/v1/upload-results`,
        apiKey: await rotateDemoIngestKey(
          opsUrl,
          DEMO_TARGET.name,
          path.join(config.home, 'secrets', 'demo-ingest-key')
        ),
        onDeliveryFailure: (reason) => options.logger.warn({ reason }, 'upload report not delivered')
      });
    }
    const backend = await startDemoBackend({
      host,
      port: config.SYNCSCOPE_DEMO_PORT,
      appDatabaseUrl: appUrl,
      signingKey: appKey,
      audience: APP_AUDIENCE,
      probeAudience: PROBE_AUDIENCE,
      powersyncUrl: syncUrl,
      demoMode: true,
      onResults: reporter
        ? (userId, results, batch, { clientId }) => reporter.report({ userId, clientId, results, batch })
        : undefined,
      logger: options.logger.child({ part: 'demo-backend' })
    });
    stops.push(() => backend.close());
    // A ready probe target for this stack (`syncscope probe --target demo`); secrets stay in !env. The
    // write probe's upload credential is short-lived and re-minted while the stack runs.
    const rotation = await startWriteProbeCredentialRotation({
      file: demoStackFiles(config.home).writeProbeToken,
      appKey,
      audience: APP_AUDIENCE,
      userId: DEMO_WRITE_PROBE.userId,
      onError: (error) => options.logger.warn({ err: error.message }, 'write probe credential not rotated')
    });
    stops.push(async () => rotation.stop());
    await writeDemoTargetsFile({
      home: config.home,
      syncUrl: sync.url,
      uploadUrl: `${backend.url}/api/upload`,
      syncRulesPath: SYNC_RULES_PATH,
      writeProbe: {
        userId: DEMO_WRITE_PROBE.userId,
        table: 'records',
        values: { workspace_id: DEMO_WRITE_PROBE.workspaceId },
        markerColumn: 'title'
      },
      // The write-probe user is the demo's canary: the freshness marker lands in its own workspace, so
      // no real user's data ever shows it (docs/canaries.md).
      canaries: { users: [DEMO_WRITE_PROBE.userId], freshnessEverySeconds: 30 },
      ...(options.sweepPeriodSeconds ? { sweepPeriodSeconds: options.sweepPeriodSeconds } : {})
    });

    // The console's side: demo accounts, a probe agent running console jobs, and the console itself.
    const credentials = await resetDemoConsoleUsers(opsUrl, config.home);
    // The agent's API token: the agent requires it, the console calls the agent with it.
    const agentToken =
      (options.env ?? process.env).SYNCSCOPE_AGENT_TOKEN ||
      (await loadOrCreateSecret(path.join(config.home, 'secrets', 'agent-token'), 32));
    const agentUrl = `http://${host}:${config.SYNCSCOPE_AGENT_METRICS_PORT}`;
    // Neither child gets the superuser's credentials: each reaches the ops database as its own role.
    const {
      SYNCSCOPE_PG_USER: _user,
      SYNCSCOPE_PG_PASSWORD: _password,
      ...parentEnv
    } = options.env ?? process.env;
    const childEnv = {
      ...parentEnv,
      SYNCSCOPE_HOME: config.home,
      SYNCSCOPE_OPS_DATABASE_URL: ops.urls.agent,
      SYNCSCOPE_PG_PORT: String(config.SYNCSCOPE_PG_PORT),
      SYNCSCOPE_BIND_HOST: host,
      SYNCSCOPE_AGENT_TOKEN: agentToken,
      SYNCSCOPE_AGENT_URL: agentUrl
    };
    if (config.SYNCSCOPE_LOG_DIR) await mkdir(config.SYNCSCOPE_LOG_DIR, { recursive: true, mode: 0o700 });
    const agent = await startAgent({
      repoRoot: REPO_ROOT,
      host,
      port: config.SYNCSCOPE_AGENT_METRICS_PORT,
      env: childEnv,
      logFile: childLogFile(config, 'agent')
    });
    stops.push(() => agent.process.stop());
    if (consoleUrl) {
      await ensureConsoleBuilt(REPO_ROOT, (line) => console.log(line));
      const started = await startConsole({
        repoRoot: REPO_ROOT,
        host,
        port: config.SYNCSCOPE_DASHBOARD_PORT,
        env: { ...childEnv, SYNCSCOPE_OPS_DATABASE_URL: ops.urls.console },
        logFile: childLogFile(config, 'console')
      });
      stops.push(() => started.process.stop());
      // Stopped first: reports still queued reach the console before it goes.
      if (reporter) stops.push(() => reporter.flush());
    }

    const urls = {
      sync: sync.url,
      syncMetrics: sync.metricsUrl,
      backend: backend.url,
      agent: agent.url,
      console: consoleUrl
    };
    return {
      config,
      urls: { postgres: postgres.url, ...urls },
      credentials,
      seeded,
      describe: (readySeconds, { showPasswords = false } = {}) =>
        describeStack(config, urls, credentials, readySeconds, postgres.initialised, showPasswords),
      stop: stopAll
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function childLogFile(config: StackConfig, part: string): string | undefined {
  return config.SYNCSCOPE_LOG_DIR ? path.join(config.SYNCSCOPE_LOG_DIR, `${part}.log`) : undefined;
}

/** The ops roles' passwords, generated once into `<home>/secrets/ops-<role>-db-password` (0600). */
async function opsRolePasswords(home: string): Promise<Record<OpsRole, string>> {
  const roles = Object.keys(OPS_ROLE_NAMES) as OpsRole[];
  const passwords = await Promise.all(
    roles.map((role) => loadOrCreateSecret(opsRolePasswordFile(home, role)))
  );
  return Object.fromEntries(roles.map((role, i) => [role, passwords[i]!])) as Record<OpsRole, string>;
}

/** Every port checked before anything starts, so a clash fails fast and names the variable to change. */
async function assertStackPortsFree(config: StackConfig): Promise<void> {
  const host = config.SYNCSCOPE_BIND_HOST;
  const ports: [number, string, string][] = [
    [config.SYNCSCOPE_PG_PORT, 'SYNCSCOPE_PG_PORT', 'Postgres'],
    [config.SYNCSCOPE_SYNC_PORT, 'SYNCSCOPE_SYNC_PORT', 'The dev sync server'],
    [config.SYNCSCOPE_SYNC_METRICS_PORT, 'SYNCSCOPE_SYNC_METRICS_PORT', "The sync server's metrics"],
    [config.SYNCSCOPE_DEMO_PORT, 'SYNCSCOPE_DEMO_PORT', 'The demo backend'],
    [config.SYNCSCOPE_AGENT_METRICS_PORT, 'SYNCSCOPE_AGENT_METRICS_PORT', 'The probe agent']
  ];
  if (config.SYNCSCOPE_CONSOLE === 'on')
    ports.push([config.SYNCSCOPE_DASHBOARD_PORT, 'SYNCSCOPE_DASHBOARD_PORT', 'The console']);
  const seen = new Map<number, string>();
  for (const [port, envVar] of ports) {
    const other = seen.get(port);
    if (other)
      throw new SyncScopeError(
        'SYNCSCOPE_E_PORT_IN_USE',
        `${other} and ${envVar} are both ${port}: give each part its own port.`
      );
    seen.set(port, envVar);
  }
  for (const [port, envVar, what] of ports) await assertPortFree(host, port, envVar, what);
}

function describeStack(
  config: StackConfig,
  urls: { sync: string; syncMetrics: string | null; backend: string; agent: string; console: string | null },
  credentials: { file: string; lines: string[] },
  readySeconds: string,
  fresh: boolean,
  showPasswords: boolean
): string {
  const pg = `postgres://${config.SYNCSCOPE_PG_USER}:***@${config.SYNCSCOPE_BIND_HOST}:${config.SYNCSCOPE_PG_PORT}`;
  const alice = DEMO_USERS.alice.email;
  return [
    '',
    `SyncScope embedded stack ready in ${readySeconds} s (${fresh ? 'new data folder' : 'existing data'} at ${config.home})`,
    '',
    `  Postgres          ${pg}/app (app data), /syncscope (SyncScope), /powersync_storage (buckets); password in secrets/pg-superuser-password`,
    `  Dev sync server   ${urls.sync}   (metrics ${urls.syncMetrics ?? 'off'})`,
    `  Demo backend      ${urls.backend}`,
    `  Probe agent       ${urls.agent}   (/metrics, /healthz; runs the console's probe jobs)`,
    `  Console           ${urls.console ?? 'off (SYNCSCOPE_CONSOLE=off)'}`,
    '',
    ...(showPasswords
      ? [
          `Console sign-in (new passwords at every start; also in ${credentials.file}):`,
          ...credentials.lines.map((line) => `  ${line}`)
        ]
      : [
          `Console sign-in: ${credentials.lines.map((line) => line.split(' ')[0]).join(', ')}; new passwords at every start, in ${credentials.file}`
        ]),
    '',
    'Sign in as a demo user and get a sync token:',
    `  curl -s -c /tmp/demo.cookies -X POST ${urls.backend}/api/dev/login -H 'content-type: application/json' -d '{"email":"${alice}"}'`,
    `  curl -s -b /tmp/demo.cookies ${urls.backend}/api/powersync/token`,
    '',
    `Demo users: ${DEMO_USERS.alice.email} (2 workspaces), ${DEMO_USERS.bob.email} (1), ${DEMO_USERS.carol.email} (none).`,
    `Probe what alice should have against what syncs (target "demo" in ${config.home}/targets.yaml):`,
    `  npm run syncscope -- probe --target demo --user ${DEMO_USERS.alice.id}`,
    'Press Ctrl-C to stop everything.',
    ''
  ].join('\n');
}
