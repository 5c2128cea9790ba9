import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { WRITE_CHECKPOINT_MESSAGE_PREFIX } from '../replication/replicator.ts';
import { AuthorizationError } from './auth-error.ts';
import type { JwtVerifier, VerifiedToken } from './jwt-verifier.ts';
import { connectionStreamsOf, syncRequestSchema } from './sync-request.ts';
import { SerializedLine, StreamDroppedByFault, type SyncSessionDeps, syncSession } from './sync-session.ts';

export interface SyncRoutesDeps extends SyncSessionDeps {
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
    reply.raw.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    deps.metrics.concurrentConnections.inc();
    deps.stats.streamsOpened++;
    const lines = syncSession(
      deps,
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
    try {
      for await (const line of lines) {
        if (deps.faults.current.delayMs > 0)
          await new Promise((r) => setTimeout(r, deps.faults.current.delayMs));
        if (abort.signal.aborted) break;
        await writeLine(reply, line);
      }
      reply.raw.end();
    } catch (error) {
      if (error instanceof StreamDroppedByFault) {
        reply.raw.destroy();
      } else if (!abort.signal.aborted) {
        deps.logger.error({ err: (error as Error).message, user: token.payload.sub }, 'sync stream failed');
        reply.raw.destroy(error as Error);
      }
    } finally {
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
    const id = await deps.storage.createWriteCheckpoint(
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
