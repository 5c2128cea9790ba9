import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FaultInjector, faultSettingsSchema } from '../faults/faults.ts';
import type { Replicator } from '../replication/replicator.ts';
import type { BucketStorage } from '../storage/bucket-storage.ts';

export interface AdminDeps {
  apiTokens: string[];
  faults: FaultInjector;
  replicator: Replicator;
  storage: BucketStorage;
  rulesYaml: string;
  sourceUriForDisplay: string;
}

function authorised(deps: AdminDeps, request: FastifyRequest, reply: FastifyReply): boolean {
  const match = /^(?:Bearer|Token)\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (match && deps.apiTokens.includes(match[1]!)) return true;
  void reply.code(401).send({
    error: {
      code: 'PSYNC_S2106',
      status: 401,
      description: 'Authentication required: send an api token from api.tokens',
      name: 'AuthorizationError'
    }
  });
  return false;
}

/** The real service's admin API (the parts a console needs) plus the dev server's fault switches. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  app.post('/api/admin/v1/diagnostics', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    const checkpoint = deps.storage.checkpoint;
    return {
      data: {
        connections: [
          {
            id: 'default',
            postgres_uri: deps.sourceUriForDisplay,
            connected: deps.replicator.ready,
            errors: []
          }
        ],
        active_sync_rules: {
          content: deps.rulesYaml,
          connections: [
            {
              id: 'default',
              tag: 'default',
              initial_replication_done: deps.replicator.ready,
              last_lsn: checkpoint.lsn,
              last_op_id: checkpoint.lastOpId.toString(),
              replication_lag_seconds: deps.replicator.lagSeconds,
              tables: deps.replicator.replicatedTables.map((t) => ({
                schema: t.table.schema,
                name: t.table.name,
                replication_id: t.table.replicaIdColumns,
                data_queries: t.table.syncsData,
                parameter_queries: t.table.syncsParameters,
                errors: t.published
                  ? []
                  : [{ level: 'warning', message: `Table is not part of publication "powersync"` }]
              }))
            }
          ],
          errors: []
        }
      }
    };
  });

  app.get('/api/sync-rules/v1/current', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    // The real service's shape: the active rules under `current`.
    return { data: { current: { content: deps.rulesYaml, slot_name: 'powersync_dev_1' }, next: null } };
  });

  app.get('/api/dev/v1/faults', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    return { data: deps.faults.current };
  });

  app.put('/api/dev/v1/faults', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    const parsed = faultSettingsSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return reply.code(400).send({
        error: {
          code: 'SYNCSCOPE_E_FAULT_UNKNOWN',
          message: `Invalid fault settings: ${issue?.path.join('.') || '(body)'}: ${issue?.message}`
        }
      });
    }
    return { data: deps.faults.set(parsed.data) };
  });
}

export function registerProbeRoutes(app: FastifyInstance, replicator: Replicator): void {
  app.get('/probes/startup', async (_req, reply) =>
    reply.code(replicator.ready ? 200 : 503).send({ ready: replicator.ready })
  );
  app.get('/probes/liveness', async () => ({ alive: true }));
  app.get('/probes/readiness', async (_req, reply) =>
    reply.code(replicator.ready ? 200 : 503).send({ ready: replicator.ready })
  );
}
