import {
  SqlSyncRules,
  type SyncConfig,
  SyncRulesErrors,
  versionedHydrationState
} from '@powersync/service-sync-rules';
import { SyncScopeError } from '@syncscope/core';
import { DEFAULT_SOURCE_SCHEMA } from '@syncscope/core/sync-rules/load-sync-rules';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import { BusyReprocessingError, type DeployedVersion } from '../deploy/rules-versions.ts';
import { type AdminDeps, authorised } from './admin-routes.ts';

/**
 * The service's sync-rules API (`/api/sync-rules/v1/*`), as captured from 1.25: validate, current (with the
 * reprocessing `next`), reprocess, and deploy, which is disabled while rules come from the config file.
 */
export function registerSyncRulesRoutes(
  app: FastifyInstance,
  deps: AdminDeps & { rulesFromConfig: boolean }
): void {
  app.post<{ Body: { content?: unknown } | undefined }>('/api/sync-rules/v1/validate', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    const content = typeof request.body?.content === 'string' ? request.body.content : '';
    return prettyJson(reply, await debugSyncRules(deps.sourcePool, content));
  });

  app.get('/api/sync-rules/v1/current', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    const { active, deploying } = deps.versions;
    if (!active) {
      return reply.code(422).send({
        error: { status: 422, code: 'PSYNC_S4104', description: 'No active sync config', name: 'ServiceError' }
      });
    }
    const describe = async (v: DeployedVersion) => ({
      slot_name: v.slotName,
      content: v.content,
      ...(await debugSyncRules(deps.sourcePool, v.content))
    });
    return prettyJson(reply, {
      data: { current: await describe(active), next: deploying ? await describe(deploying) : null }
    });
  });

  app.post('/api/sync-rules/v1/reprocess', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    try {
      const next = await deps.versions.reprocess();
      return prettyJson(reply, { data: { slot_name: next.slotName } });
    } catch (error) {
      return sendDeployError(reply, error);
    }
  });

  // The service reads a raw YAML body too; either way it refuses while rules come from the config.
  app.addContentTypeParser(['application/yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, { content: body })
  );
  app.post('/api/sync-rules/v1/deploy', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    return reply.code(422).send({
      error: {
        status: 422,
        code: 'PSYNC_S4105',
        description: 'Sync config API disabled',
        details: 'Update sync config in the service configuration',
        name: 'ServiceError'
      }
    });
  });
}

/** Busy → the service's 409; invalid rules (a changed file) → 422 with the rules' problems. */
export function sendDeployError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof BusyReprocessingError) {
    return reply.code(409).send({
      error: { status: 409, code: 'PSYNC_S4106', description: error.message, name: 'ServiceError' }
    });
  }
  if (error instanceof SyncScopeError) {
    return reply.code(422).send({
      error: { status: 422, code: 'PSYNC_R0001', description: error.message, name: 'ServiceError' }
    });
  }
  throw error;
}

/** The service answers these with indented JSON. */
function prettyJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.header('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(body, null, 2));
}

/** `{valid: true, bucket_definitions, source_tables, data_tables}` or `{valid: false, errors}`; no schema check. */
export async function debugSyncRules(pool: pg.Pool, content: string) {
  let config: SyncConfig;
  try {
    config = SqlSyncRules.fromYaml(content, { defaultSchema: DEFAULT_SOURCE_SCHEMA }).config;
  } catch (error) {
    const errors =
      error instanceof SyncRulesErrors ? error.errors.map((e) => e.message) : [(error as Error).message];
    return { valid: false as const, errors };
  }
  return {
    valid: true as const,
    bucket_definitions: config.debugRepresentation(),
    source_tables: await sourceTablesInfo(pool, config),
    data_tables: config.debugGetOutputTables()
  };
}

/** Each table pattern of the rules with the table it resolves to in the source; a missing one is a warning. */
async function sourceTablesInfo(pool: pg.Pool, config: SyncConfig) {
  const hydrated = config.hydrate({ hydrationState: versionedHydrationState(1), sqlite: null });
  const out = [];
  for (const pattern of config.getSourceTables()) {
    const ref = { connectionTag: pattern.connectionTag, schema: pattern.schema, name: pattern.name };
    const { rows } = await pool.query<{ key: string[] | null; present: boolean }>(
      `SELECT c.oid IS NOT NULL AS present,
              (SELECT array_agg(a.attname ORDER BY array_position(i.indkey::int2[], a.attnum))
               FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
               WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)) AS key
       FROM (SELECT to_regclass(format('%I.%I', $1::text, $2::text))::oid AS oid) c`,
      [pattern.schema, pattern.name]
    );
    const found = rows[0]?.present ?? false;
    out.push({
      schema: pattern.schema,
      pattern: pattern.tablePattern,
      wildcard: pattern.isWildcard,
      table: {
        schema: pattern.schema,
        name: pattern.name,
        replication_id: found ? (rows[0]?.key ?? []) : [],
        data_queries: hydrated.tableSyncsData(ref),
        parameter_queries: hydrated.tableSyncsParameters(ref),
        errors: found
          ? []
          : [{ level: 'warning', message: `Table "${pattern.schema}"."${pattern.name}" not found.` }]
      }
    });
  }
  return out;
}
