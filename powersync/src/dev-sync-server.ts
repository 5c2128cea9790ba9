import { assertPortFree, createLogger, type Logger, SyncScopeError } from '@syncscope/core';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { registerAdminRoutes, registerProbeRoutes } from './admin/admin-routes.ts';
import type { LoadedServiceConfig } from './config/load-service-config.ts';
import { FaultInjector, type FaultSettings } from './faults/faults.ts';
import { createServerMetrics, type ServerMetrics } from './metrics/server-metrics.ts';
import { Replicator } from './replication/replicator.ts';
import { BucketStorage } from './storage/bucket-storage.ts';
import { JwtVerifier } from './sync/jwt-verifier.ts';
import { registerSyncRoutes, type SyncStats } from './sync/sync-routes.ts';

export interface DevSyncServerOptions {
  loaded: LoadedServiceConfig;
  host?: string;
  logger?: Logger;
  faults?: Partial<FaultSettings>;
  keepaliveMs?: number;
  /** Resolve start() only once the initial snapshot is done (default true). */
  waitForReplication?: boolean;
}

export interface DevSyncServer {
  url: string;
  metricsUrl: string | null;
  faults: FaultInjector;
  storage: BucketStorage;
  replicator: Replicator;
  stats: SyncStats;
  metrics: ServerMetrics;
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
  const rules = loadSyncRules(syncRulesYaml, { file: syncRulesPath });
  for (const w of rules.warnings) logger.warn({ line: w.line }, `sync rules: ${w.message}`);
  await assertPortFree(host, config.port, 'port (service config)', 'The dev sync server');
  const metricsPort = config.telemetry?.prometheus_port;
  if (metricsPort)
    await assertPortFree(host, metricsPort, 'telemetry.prometheus_port', 'The dev sync server metrics');

  const sourceUrl = config.replication.connections[0]!.uri;
  const faults = new FaultInjector(options.faults);
  const metrics = createServerMetrics();
  const storage = new BucketStorage(config.storage.uri, rules.hydrated);
  const replicator = new Replicator({
    sourceUrl,
    storage,
    rulesYaml: syncRulesYaml,
    rules: rules.hydrated,
    logger,
    metrics,
    faults
  });
  const sourcePool = new pg.Pool({
    connectionString: sourceUrl,
    max: 4,
    application_name: 'syncscope-dev-sync-server-api'
  });
  sourcePool.on('error', () => {});

  const readyPromise = replicator.start();
  readyPromise.catch(() => {});
  const waitUntilReady = async (signal: AbortSignal) => {
    while (!replicator.ready && !signal.aborted) await new Promise((r) => setTimeout(r, 50));
  };

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) logger.error({ err: error.message }, 'request failed');
    // Fastify's own errors (malformed JSON, body too large) answered in the service's error shape.
    void reply.code(status).send({ error: { code: 'PSYNC_S2001', status, description: error.message } });
  });
  registerProbeRoutes(app, replicator);
  const stats: SyncStats = { streamsOpened: 0, writeCheckpointsCreated: 0 };
  registerSyncRoutes(app, {
    stats,
    keepaliveMs: options.keepaliveMs,
    storage,
    rules: rules.hydrated,
    faults,
    logger,
    waitUntilReady,
    onOpsSent: (ops, bytes) => {
      metrics.operationsSynced.inc(ops);
      metrics.dataSyncedBytes.inc(bytes);
      metrics.dataSentBytes.inc(bytes);
    },
    verifier: new JwtVerifier(config.client_auth),
    sourcePool,
    metrics
  });
  registerAdminRoutes(app, {
    apiTokens: config.api?.tokens ?? [],
    faults,
    replicator,
    storage,
    rulesYaml: syncRulesYaml,
    sourceUriForDisplay: redactUri(sourceUrl)
  });
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
    await replicator.stop();
    // Open sync streams would keep the server from closing.
    app.server.closeAllConnections?.();
    await app.close();
    await metricsApp?.close();
    await sourcePool.end().catch(() => {});
    await storage.close().catch(() => {});
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
    storage,
    replicator,
    stats,
    metrics,
    close
  };
}
