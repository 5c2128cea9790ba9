import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { WRITE_CHECKPOINT_MESSAGE_PREFIX } from '../replication/replicator.ts';
import { AuthorizationError } from './auth-error.ts';
import { BucketLimitError } from './bucket-limits.ts';
import type { JwtVerifier, VerifiedToken } from './jwt-verifier.ts';
import { connectionStreamsOf, syncRequestSchema } from './sync-request.ts';
import {
  type ServedRules,
  SerializedLine,
  StreamDroppedByFault,
  type SyncSessionDeps,
  syncSession
} from './sync-session.ts';

/** The active rules version; `retired` aborts when another version replaces it. */
export interface ActiveRules extends ServedRules {
  retired: AbortSignal;
}

export interface SyncRoutesDeps extends Omit<SyncSessionDeps, keyof ServedRules> {
  waitUntilReady: (signal: AbortSignal) => Promise<void>;
  active: () => ActiveRules;
  verifier: JwtVerifier;
  sourcePool: pg.Pool;
  metrics: { concurrentConnections: { inc(): void; dec(): void } };
  stats: SyncStats;
}

/** Counters tests and diagnostics read (not exported as metrics: the real service has none of these). */
export interface SyncStats {
  streamsOpened: number;
  writeCheckpointsCreated: number;
}

async function authenticate(deps: SyncRoutesDeps, request: FastifyRequest): Promise<VerifiedToken> {
  const token = (deps.verifier.constructor as typeof JwtVerifier).tokenFromHeader(
    request.headers.authorization
  );
  return deps.verifier.verify(token);
}

function sendAuthError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof AuthorizationError) return reply.code(401).send(error.toResponse());
  throw error;
}

/** Writes a line and waits for the socket to drain when the client reads slower than we produce. */
async function writeLine(reply: FastifyReply, line: unknown): Promise<number> {
  const text = `${line instanceof SerializedLine ? line.text : JSON.stringify(line)}\n`;
  if (!reply.raw.write(text)) await new Promise((resolve) => reply.raw.once('drain', resolve));
  return Buffer.byteLength(text);
}

/**
 * PSYNC_S2305 as the service handles it: logged with the breakdown by definition; before the first line an
 * HTTP 500 with the JSON error (no trailing newline); on an open stream the service's response stream
 * errors, which cuts the body short without a last line.
 */
function answerBucketLimit(
  deps: SyncRoutesDeps,
  reply: FastifyReply,
  error: BucketLimitError,
  userId: string,
  served: ActiveRules | null
): void {
  const checkpoint = served ? Number(served.storage.checkpoint.lastOpId) : undefined;
  deps.logger.error({ ...error.logFields, checkpoint, user_id: userId }, error.logMessage);
  deps.logger.error(
    { errorData: error.toResponse().error, user_id: userId },
    `Streaming sync request failed [${error.code}] ${error.description}`
  );
  if (reply.raw.headersSent) {
    reply.raw.destroy();
    return;
  }
  reply.raw.writeHead(500, { 'Content-Type': 'application/json' });
  reply.raw.end(JSON.stringify(error.toResponse()));
}

export function registerSyncRoutes(app: FastifyInstance, deps: SyncRoutesDeps): void {
  app.post('/sync/stream', async (request, reply) => {
    let token: VerifiedToken;
    try {
      token = await authenticate(deps, request);
    } catch (error) {
      return sendAuthError(reply, error);
    }
    const body = syncRequestSchema.safeParse(request.body ?? {});
    if (!body.success) {
      const field = body.error.issues[0]?.path.join('.') || 'body';
      return reply.code(400).send({
        error: {
          code: 'PSYNC_S2001',
          status: 400,
          description: `Invalid sync request: ${field}: ${body.error.issues[0]?.message}`,
          name: 'ValidationError'
        }
      });
    }
    const abort = new AbortController();
    request.raw.once('close', () => abort.abort());
    reply.raw.once('close', () => abort.abort());
    reply.hijack();
    deps.metrics.concurrentConnections.inc();
    deps.stats.streamsOpened++;
    // Headers go out with the first line, so a limit hit while the first checkpoint is built can still
    // be an HTTP 500, as the service answers it.
    const begin = () => {
      if (!reply.raw.headersSent)
        reply.raw.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    };
    let served: ActiveRules | null = null;
    const onRetired = () => abort.abort();
    try {
      await deps.waitUntilReady(abort.signal);
      served = deps.active();
      // A switch of rules versions ends the stream cleanly; the client reconnects to the new version.
      served.retired.addEventListener('abort', onRetired, { once: true });
      if (served.retired.aborted) abort.abort();
      const lines = syncSession(
        { ...deps, ...served },
        {
          userId: token.payload.sub,
          tokenPayload: token.payload as Record<string, unknown>,
          tokenExpiresAt: token.payload.exp,
          clientId: body.data.client_id,
          clientParameters: (body.data.parameters ?? {}) as Record<string, unknown>,
          buckets: body.data.buckets ?? [],
          streams: connectionStreamsOf(body.data)
        },
        abort.signal
      );
      for await (const line of lines) {
        if (deps.faults.current.delayMs > 0)
          await new Promise((r) => setTimeout(r, deps.faults.current.delayMs));
        if (abort.signal.aborted) break;
        begin();
        await writeLine(reply, line);
      }
      begin();
      reply.raw.end();
    } catch (error) {
      if (error instanceof BucketLimitError) {
        answerBucketLimit(deps, reply, error, token.payload.sub, served);
      } else if (error instanceof StreamDroppedByFault) {
        reply.raw.destroy();
      } else if (!abort.signal.aborted) {
        deps.logger.error({ err: (error as Error).message, user: token.payload.sub }, 'sync stream failed');
        reply.raw.destroy(error as Error);
      }
    } finally {
      served?.retired.removeEventListener('abort', onRetired);
      abort.abort();
      deps.metrics.concurrentConnections.dec();
    }
  });

  const writeCheckpoint = async (
    request: FastifyRequest<{ Querystring: { client_id?: string } }>,
    reply: FastifyReply
  ) => {
    let token: VerifiedToken;
    try {
      token = await authenticate(deps, request);
    } catch (error) {
      return sendAuthError(reply, error);
    }
    // A non-transactional logical message marks "now" in the WAL; once replication passes it, every
    // write the client made before asking is in storage, and the checkpoint can be echoed.
    const { rows } = await deps.sourcePool.query<{ lsn: string }>(
      'SELECT pg_logical_emit_message(false, $1, $2)::text AS lsn',
      [WRITE_CHECKPOINT_MESSAGE_PREFIX, 'write-checkpoint']
    );
    const id = await deps.active().storage.createWriteCheckpoint(
      token.payload.sub,
      request.query.client_id ?? null,
      rows[0]!.lsn
    );
    deps.stats.writeCheckpointsCreated++;
    return reply.send({ data: { write_checkpoint: id.toString() } });
  };
  app.get('/write-checkpoint2.json', writeCheckpoint);
  app.get('/write-checkpoint.json', writeCheckpoint);
}
