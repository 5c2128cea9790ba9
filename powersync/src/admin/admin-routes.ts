import type { Logger } from '@syncscope/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { DeployedVersion, RulesVersions } from '../deploy/rules-versions.ts';
import { type FaultInjector, faultSettingsSchema } from '../faults/faults.ts';
import { type SlotStatus, versionConnection } from './diagnostics.ts';

export interface AdminDeps {
  apiTokens: string[];
  faults: FaultInjector;
  versions: RulesVersions;
  sourcePool: pg.Pool;
  connectionTag: string;
  sourceUriForDisplay: string;
  logger: Logger;
}

/** The service's api tokens, as `Authorization: Bearer <token>` or `Token <token>`. */
export function authorised(deps: Pick<AdminDeps, 'apiTokens'>, request: FastifyRequest, reply: FastifyReply): boolean {
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

async function slotStatuses(deps: AdminDeps, slots: string[]): Promise<Map<string, SlotStatus>> {
  const { rows } = await deps.sourcePool.query<{ slot_name: string; wal_status: string; lag: string }>(
    `SELECT slot_name, wal_status,
            pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(confirmed_flush_lsn, restart_lsn))::bigint::text AS lag
     FROM pg_replication_slots WHERE slot_name = ANY($1)`,
    [slots]
  );
  const found = new Map(rows.map((r) => [r.slot_name, { lagBytes: Number(r.lag), walStatus: r.wal_status }]));
  for (const slot of slots.filter((s) => !found.has(s))) {
    // The service's warning while a new version's slot does not exist yet.
    deps.logger.warn(
      { errorData: { code: 'PSYNC_S4001', description: `Could not determine replication lag for slot ${slot}` } },
      `Unable to get replication lag [PSYNC_S4001] Could not determine replication lag for slot ${slot}`
    );
  }
  return found;
}

function syncRulesStatus(
  deps: AdminDeps,
  v: DeployedVersion,
  slots: Map<string, SlotStatus>,
  includeContent: boolean
) {
  return {
    ...(includeContent ? { content: v.content } : {}),
    connections: [
      versionConnection({
        tag: deps.connectionTag,
        slotName: v.slotName,
        progress: v.replicator.progress,
        lsn: v.storage.checkpoint.lsn,
        slot: slots.get(v.slotName) ?? null,
        tables: v.replicator.replicatedTables
      })
    ],
    errors: []
  };
}

/** The real service's admin API (the parts a console needs) plus the dev server's own switches. */
export function registerAdminRoutes(
  app: FastifyInstance,
  deps: AdminDeps & { redeployFromFile: () => Promise<string | null> }
): void {
  app.post<{ Body: { sync_rules_content?: boolean } | undefined }>(
    '/api/admin/v1/diagnostics',
    async (request, reply) => {
      if (!authorised(deps, request, reply)) return reply;
      const includeContent = request.body?.sync_rules_content === true;
      const { active, deploying } = deps.versions;
      const slots = await slotStatuses(
        deps,
        [active, deploying].flatMap((v) => (v ? [v.slotName] : []))
      );
      return {
        data: {
          connections: [
            {
              id: 'default',
              postgres_uri: deps.sourceUriForDisplay,
              connected: Boolean(active?.replicator.ready),
              errors: []
            }
          ],
          ...(active ? { active_sync_rules: syncRulesStatus(deps, active, slots, includeContent) } : {}),
          ...(deploying
            ? { deploying_sync_rules: syncRulesStatus(deps, deploying, slots, includeContent) }
            : {})
        }
      };
    }
  );

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

  // Dev only: what a changed rules file and a restart do, without the restart (the file is read again).
  app.post('/api/dev/v1/sync-rules/reload', async (request, reply) => {
    if (!authorised(deps, request, reply)) return reply;
    return { data: { slot_name: await deps.redeployFromFile() } };
  });
}

export function registerProbeRoutes(app: FastifyInstance, ready: () => boolean): void {
  app.get('/probes/startup', async (_req, reply) => reply.code(ready() ? 200 : 503).send({ ready: ready() }));
  app.get('/probes/liveness', async () => ({ alive: true }));
  app.get('/probes/readiness', async (_req, reply) =>
    reply.code(ready() ? 200 : 503).send({ ready: ready() })
  );
}
