import { isSyncScopeError, type Logger, SyncScopeError } from '@syncscope/core';
import { bearerTokenMatches } from '@syncscope/core/net/bearer-token';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { checkOpsDatabaseReady } from '@syncscope/core/ops-db/ops-readiness';
import { PROBE_MODES } from '@syncscope/core/probe/probe-mode';
import type { ProbeReport, ProbeTarget } from '@syncscope/core/probe/probe-types';
import { resolveSigningKeys } from '@syncscope/core/probe/targets/resolve-target';
import { probeJwks } from '@syncscope/core/probe/tokens/probe-public-keys';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type AgentMetrics, createAgentMetrics } from '../metrics/agent-metrics.ts';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import {
  assertTargetStreams,
  auditUnavailable,
  type ProbeRequest,
  parseClaimsJson,
  probeTarget,
  sourceRoleWarning
} from '../probe/probe-target.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';
import { AGENT_TOKEN_ENV } from './agent-token-env.ts';
import { hostAllowed } from './allowed-hosts.ts';

const MIN_TOKEN_LENGTH = 16;
/** Bounds of the audit fields a caller sends with POST /probes. */
const MAX_ACTOR_LENGTH = 200;
const MAX_REASON_LENGTH = 500;

export interface AgentServerOptions {
  host: string;
  port: number;
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  /** Bearer token POST /probes requires; the agent refuses to start without one. */
  token: string | undefined;
  /** Host header names accepted besides the bind address and loopback names (--allowed-host). */
  allowedHosts?: readonly string[];
  /** Where POST /probes audits its tokens and stores its runs; without one it refuses to probe. */
  ops?: OpsDatabase;
  maxConcurrentProbes?: number;
  expectedStateWorker?: ProbeRequest['expectedStateWorker'];
  /** Replaces the probe engine (tests). */
  runProbe?: (request: ProbeRequest) => Promise<ProbeReport>;
}

export interface AgentServer {
  url: string;
  metrics: AgentMetrics;
  close(): Promise<void>;
}

const probeBodySchema = z.strictObject({
  target: z.string().min(1),
  user: z.string().min(1),
  /** Who asks (a person or system behind the token holder) and why: audited before the token is minted. */
  actor: z.string().trim().min(1).max(MAX_ACTOR_LENGTH),
  reason: z.string().trim().min(1).max(MAX_REASON_LENGTH),
  claims: z.record(z.string(), z.unknown()).optional(),
  /** Sync streams the probe's client subscribes to: `{stream, parameters?, priority?}` each. */
  subscriptions: z
    .array(
      z.strictObject({
        stream: z.string().min(1),
        parameters: z.record(z.string(), z.unknown()).nullable().default(null),
        priority: z
          .union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
          .nullable()
          .default(null)
      })
    )
    .max(50)
    .optional(),
  deadline_seconds: z.number().positive().max(600).optional(),
  /** light: the stream read at the protocol level, differences confirmed by a full probe; full (default). */
  mode: z.enum(PROBE_MODES).optional()
});

/**
 * The agent: `GET /healthz` (liveness: the process answers), `GET /readyz` (readiness: the ops database
 * it audits in answers and is migrated; 503 with the coded reason otherwise), `GET /metrics` (Prometheus), and
 * `POST /probes {target, user, actor, reason, claims?, subscriptions?}` behind a bearer token, which
 * audits, runs a probe, stores the run and answers its report with the run's id. Every route refuses a
 * Host header that does not name the agent (DNS rebinding). Targets are read from the targets file on
 * each probe, so edits and rotated secrets apply without a restart.
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const token = options.token;
  if (token === undefined || token === '') {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `${AGENT_TOKEN_ENV} is not set: POST /probes needs a bearer token in every mode. Set it to a long random value (e.g. openssl rand -base64 32); npm start generates one.`
    );
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `${AGENT_TOKEN_ENV} is shorter than ${MIN_TOKEN_LENGTH} characters; use a long random token (e.g. openssl rand -base64 32).`
    );
  }
  options.scrubber.add(token);

  const known = await targetNames(options.targets);
  const metrics = createAgentMetrics({ targets: known });
  const maxConcurrent = options.maxConcurrentProbes ?? 2;
  const run = options.runProbe ?? probeTarget;
  const log = options.logger;
  let running = 0;
  /** Targets whose source role was checked (once per target and agent run). */
  const roleChecked = new Set<string>();

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

  /** Answers pass the scrubber too: a report's texts come from the engine and the systems it talked to. */
  const send = (reply: FastifyReply, status: number, body: unknown) =>
    reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send(options.scrubber.scrub(JSON.stringify(body)));
  const fail = (reply: FastifyReply, error: SyncScopeError) => send(reply, error.status, error.toResponse());

  const authorised = (request: FastifyRequest): boolean =>
    bearerTokenMatches(request.headers.authorization, token);
  const listeningPort = () => {
    const address = app.server.address();
    return typeof address === 'object' && address ? address.port : options.port;
  };

  // Before routing and body parsing: a page that rebinds its own name to this address gets nothing.
  app.addHook('onRequest', async (request, reply) => {
    const allowed = hostAllowed(request.headers.host, {
      bindHost: options.host,
      port: listeningPort(),
      allowedHosts: options.allowedHosts ?? []
    });
    if (allowed) return;
    log.warn({ host: request.headers.host?.slice(0, 100) }, 'request with a foreign Host header refused');
    return fail(
      reply,
      new SyncScopeError(
        'SYNCSCOPE_E_AGENT_HOST_REFUSED',
        `The agent does not answer for Host "${(request.headers.host ?? '').slice(0, 100)}": call it as ${options.host}:${listeningPort()} or localhost, or start it with --allowed-host NAME.`
      )
    );
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) {
      return fail(
        reply,
        new SyncScopeError('SYNCSCOPE_E_REQUEST_TOO_LARGE', 'The request body is over 64 KiB.')
      );
    }
    if (status >= 400 && status < 500) {
      return fail(
        reply,
        new SyncScopeError('SYNCSCOPE_E_REQUEST_INVALID', `Invalid request: ${error.message}`)
      );
    }
    log.error({ err: error.message }, 'agent request failed');
    return fail(
      reply,
      new SyncScopeError('SYNCSCOPE_E_INTERNAL_ERROR', 'Internal error; see the agent log.')
    );
  });
  app.setNotFoundHandler((request, reply) =>
    fail(
      reply,
      new SyncScopeError(
        'SYNCSCOPE_E_REQUEST_INVALID',
        `No route ${request.method} ${request.url.split('?')[0]}.`
      )
    )
  );

  app.get('/healthz', async () => ({ ok: true, targets: known.length, probesRunning: running }));

  // Without the ops database an agent can neither run jobs nor audit a probe token, so it takes no
  // traffic (POST /probes, the JWKS that only matters once tokens are minted) until it answers again.
  app.get('/readyz', async (_request, reply) => {
    if (!options.ops) return { ready: true, opsDatabase: 'not configured' };
    const readiness = await checkOpsDatabaseReady(options.ops.databaseUrl);
    if (!readiness.ready) {
      log.warn({ code: readiness.code }, 'not ready: ops database');
      return fail(reply, new SyncScopeError(readiness.code, readiness.message));
    }
    return { ready: true, opsDatabase: 'ok' };
  });

  // The probe keys' public halves, for the sync service's client_auth.jwks_uri. Only the signing keys are
  // read (no admin API, no other secret), from the targets file on every request, so a rotated key is
  // published as soon as the file or its variables change.
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    const keys: ProbeTarget['signing'][] = [];
    for (const { target, key, problem } of await resolveSigningKeys(options.targets)) {
      if (key) keys.push(key);
      else log.warn({ target, err: problem }, 'probe key not loadable; not published');
    }
    reply.header('cache-control', 'max-age=60');
    return probeJwks(keys);
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.post('/probes', async (request, reply) => {
    if (!authorised(request)) {
      return fail(
        reply,
        new SyncScopeError(
          'SYNCSCOPE_E_AUTH_REQUIRED',
          `POST /probes needs "Authorization: Bearer <token>" with the agent's ${AGENT_TOKEN_ENV}.`
        )
      );
    }
    const parsed = probeBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const key =
        issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || '(body)';
      return fail(
        reply,
        new SyncScopeError(
          'SYNCSCOPE_E_REQUEST_INVALID',
          `Invalid probe request: ${key}: ${issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message}. Send {"target": "<name>", "user": "<user id>", "actor": "<who asks>", "reason": "<why>", "claims"?: {...}, "subscriptions"?: [{"stream": "<name>", "parameters"?: {...}, "priority"?: 0-3}], "mode"?: "light" | "full"}.`
        )
      );
    }
    const body = parsed.data;
    const ops = options.ops;
    if (!ops) return fail(reply, auditUnavailable('POST /probes'));
    if (running >= maxConcurrent) {
      return fail(
        reply,
        new SyncScopeError(
          'SYNCSCOPE_E_PROBE_BUSY',
          `${running} probes are running (the limit); retry when one finishes.`
        )
      );
    }
    running++;
    try {
      let target: ProbeTarget;
      let claims: Record<string, unknown> | undefined;
      try {
        claims = parseClaimsJson(body.claims ? JSON.stringify(body.claims) : undefined, 'claims');
        target = await resolveTarget(options.targets, body.target, options.scrubber);
        // A stream the rules lack is the caller's mistake (400), not a probe run that counts as an error.
        await assertTargetStreams(target, body.subscriptions ?? []);
      } catch (error) {
        if (isSyncScopeError(error)) return fail(reply, error);
        throw error;
      }
      if (!known.includes(target.name)) {
        known.push(target.name);
        metrics.initTarget(target.name);
      }
      if (!roleChecked.has(target.name)) {
        roleChecked.add(target.name);
        const warning = await sourceRoleWarning(target);
        if (warning) log.warn({ target: target.name }, warning);
      }
      log.info({ target: target.name, actor: body.actor }, 'probe requested');
      let runId: string | undefined;
      const report = await run({
        target,
        userId: body.user,
        ops,
        actor: body.actor,
        reason: body.reason,
        onRecorded: (id) => {
          runId = id;
        },
        claims,
        subscriptions: body.subscriptions,
        mode: body.mode,
        deadlineMs: body.deadline_seconds ? body.deadline_seconds * 1000 : undefined,
        logger: log,
        metrics,
        expectedStateWorker: options.expectedStateWorker
      });
      return send(reply, 200, { ...report, runId });
    } finally {
      running--;
    }
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, metrics, close: () => app.close() };
}
