import { assertPortFree, createLogger, type Logger, SyncScopeError } from '@syncscope/core';
import { readFile } from 'node:fs/promises';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { registerAdminRoutes, registerProbeRoutes } from './admin/admin-routes.ts';
import { registerSyncRulesRoutes } from './admin/sync-rules-routes.ts';
import type { LoadedServiceConfig } from './config/load-service-config.ts';
import { FaultInjector, type FaultSettings } from './faults/faults.ts';
import { createServerMetrics, type ServerMetrics } from './metrics/server-metrics.ts';
import { type DeployedVersion, RulesVersions } from './deploy/rules-versions.ts';
import type { Replicator } from './replication/replicator.ts';
import type { BucketStorage } from './storage/bucket-storage.ts';
import { DEFAULT_BUCKET_LIMITS } from './sync/bucket-limits.ts';
import { JwtVerifier } from './sync/jwt-verifier.ts';
import { registerSyncRoutes, type SyncStats } from './sync/sync-routes.ts';

export interface DevSyncServerOptions {
  loaded: LoadedServiceConfig;
  host?: string;
  logger?: Logger;
  faults?: Partial<FaultSettings>;
  keepaliveMs?: number;
  /** How long a replaced rules version lingers before its slot and storage go (default 5 s, as the service). */
  retireDelayMs?: number;
  /** Resolve start() only once the initial snapshot is done (default true). */
  waitForReplication?: boolean;
}

export interface DevSyncServer {
  url: string;
  metricsUrl: string | null;
  faults: FaultInjector;
  /** The sync-rules versions: `active` is served, `deploying` reprocesses. */
  versions: RulesVersions;
  /** The active version's storage and replicator. */
  readonly storage: BucketStorage;
  readonly replicator: Replicator;
  stats: SyncStats;
  metrics: ServerMetrics;
  /**
   * Deploys `content` as a new version with reprocessing (what a changed rules file and a restart do),
   * without restarting: for tests. Resolves once reprocessing started, with the new slot's name.
   */
  deploy(content: string): Promise<string>;
  /** Reads the rules file again and deploys it if it changed; null when unchanged or rules are inline. */
  redeployFromFile(): Promise<string | null>;
  close(): Promise<void>;
}

function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable uri)';
  }
}

/** Starts the development sync server: replication, bucket storage, the sync API, admin and metrics. */
export async function startDevSyncServer(options: DevSyncServerOptions): Promise<DevSyncServer> {
  const { config, syncRulesYaml, syncRulesPath, ignoredKeys } = options.loaded;
  const logger = options.logger ?? createLogger('dev-sync-server');
  const host = options.host ?? '127.0.0.1';
  if (ignoredKeys.length > 0)
    logger.warn({ keys: ignoredKeys }, 'the dev sync server ignores these config keys');
  if (!config.client_auth) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      'client_auth: the config has no client_auth; add jwks_uri or jwks and audience.'
    );
  }
  // Invalid rules stop the start-up with their line numbers, before anything is deployed.
  const rules = loadSyncRules(syncRulesYaml, { file: syncRulesPath });
  for (const w of rules.warnings) logger.warn({ line: w.line }, `sync rules: ${w.message}`);
  await assertPortFree(host, config.port, 'port (service config)', 'The dev sync server');
  const metricsPort = config.telemetry?.prometheus_port;
  if (metricsPort)
    await assertPortFree(host, metricsPort, 'telemetry.prometheus_port', 'The dev sync server metrics');

  const connection = config.replication.connections[0]!;
  const sourceUrl = connection.uri;
  const faults = new FaultInjector(options.faults);
  const metrics = createServerMetrics();
  const versions = new RulesVersions({
    storageUrl: config.storage.uri,
    sourceUrl,
    logger,
    metrics,
    faults,
    slotPrefix: connection.slot_name_prefix ?? 'powersync_',
    retireDelayMs: options.retireDelayMs
  });
  const sourcePool = new pg.Pool({
    connectionString: sourceUrl,
    max: 4,
    application_name: 'syncscope-dev-sync-server-api'
  });
  sourcePool.on('error', () => {});

  const readyPromise = versions.start(syncRulesYaml);
  readyPromise.catch(() => {});
  const waitUntilReady = async (signal: AbortSignal) => {
    while (!versions.active?.replicator.ready && !signal.aborted) await new Promise((r) => setTimeout(r, 50));
  };
  const activeVersion = (): DeployedVersion => {
    if (!versions.active) throw new Error('no active sync rules version');
    return versions.active;
  };
  const redeployFromFile = async (): Promise<string | null> => {
    if (!syncRulesPath) return null;
    const content = await readFile(syncRulesPath, 'utf8');
    if (content === versions.newestContent) return null;
    logger.info('Sync config updated');
    return (await versions.deploy(content)).slotName;
  };

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) logger.error({ err: error.message }, 'request failed');
    // Fastify's own errors (malformed JSON, body too large) answered in the service's error shape.
    void reply.code(status).send({ error: { code: 'PSYNC_S2001', status, description: error.message } });
  });
  registerProbeRoutes(app, () => Boolean(versions.active?.replicator.ready));
  const stats: SyncStats = { streamsOpened: 0, writeCheckpointsCreated: 0 };
  registerSyncRoutes(app, {
    stats,
    keepaliveMs: options.keepaliveMs,
    faults,
    logger,
    waitUntilReady,
    active: () => {
      const v = activeVersion();
      return {
        storage: v.storage,
        rules: v.rules.hydrated,
        definitionKind: v.definitionKind,
        retired: v.retired.signal
      };
    },
    limits: {
      maxBuckets: config.api?.parameters?.max_buckets_per_connection ?? DEFAULT_BUCKET_LIMITS.maxBuckets,
      maxParameterQueryResults:
        config.api?.parameters?.max_parameter_query_results ?? DEFAULT_BUCKET_LIMITS.maxParameterQueryResults
    },
    onOpsSent: (ops, bytes) => {
      metrics.operationsSynced.inc(ops);
      metrics.dataSyncedBytes.inc(bytes);
      metrics.dataSentBytes.inc(bytes);
    },
    verifier: new JwtVerifier(config.client_auth),
    sourcePool,
    metrics
  });
  const adminDeps = {
    apiTokens: config.api?.tokens ?? [],
    faults,
    versions,
    sourcePool,
    connectionTag: connection.tag ?? 'default',
    sourceUriForDisplay: redactUri(sourceUrl),
    logger
  };
  registerAdminRoutes(app, { ...adminDeps, redeployFromFile });
  registerSyncRulesRoutes(app, { ...adminDeps, rulesFromConfig: true });
  await app.listen({ host, port: config.port });

  let metricsApp: FastifyInstance | null = null;
  if (metricsPort) {
    metricsApp = Fastify({ logger: false });
    metricsApp.get('/metrics', async (_req, reply) =>
      reply.header('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics())
    );
    await metricsApp.listen({ host, port: metricsPort });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  const close = async () => {
    await versions.close();
    // Open sync streams would keep the server from closing.
    app.server.closeAllConnections?.();
    await app.close();
    await metricsApp?.close();
    await sourcePool.end().catch(() => {});
  };
  if (options.waitForReplication ?? true) {
    try {
      await readyPromise;
    } catch (error) {
      await close();
      throw error;
    }
  }
  return {
    url: `http://${host}:${port}`,
    metricsUrl: metricsPort ? `http://${host}:${metricsPort}/metrics` : null,
    faults,
    versions,
    get storage() {
      return activeVersion().storage;
    },
    get replicator() {
      return activeVersion().replicator;
    },
    stats,
    metrics,
    deploy: async (content) => (await versions.deploy(content)).slotName,
    redeployFromFile,
    close
  };
}
