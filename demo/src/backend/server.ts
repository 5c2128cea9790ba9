import { randomUUID } from 'node:crypto';
import {
  isSyncScopeError,
  jwksDocument,
  type Logger,
  type SigningKey,
  SyncScopeError
} from '@syncscope/core';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import pg from 'pg';
import { type AuthConfig, presentedCredential } from './request-auth.ts';
import { SESSION_COOKIE, SESSION_TTL_MS, SessionStore } from './sessions.ts';
import { registerUploadRoute, type UploadResultsHook } from './upload/upload-route.ts';

export interface DemoBackendOptions {
  host: string;
  port: number;
  appDatabaseUrl: string;
  signingKey: SigningKey;
  /** Audience of the sync tokens this backend issues (the sync service accepts it). */
  audience: string;
  /** Audience of SyncScope probe tokens: refused here. */
  probeAudience: string;
  powersyncUrl: string;
  tokenTtlSeconds?: number;
  /** Enables POST /api/dev/login (passwordless sign-in by email). Never on outside the demo. */
  demoMode: boolean;
  logger: Logger;
  onResults?: UploadResultsHook;
}

export interface DemoBackend {
  url: string;
  close(): Promise<void>;
}

// Large enough for a batch carrying one 5 MB field, so that field is rejected per operation, not per batch.
const BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** The demo app's backend, as the article describes it: dev login, sync tokens, JWKS, and uploads. */
export async function startDemoBackend(options: DemoBackendOptions): Promise<DemoBackend> {
  const pool = new pg.Pool({
    connectionString: options.appDatabaseUrl,
    max: 8,
    // A saturated or unreachable database fails an upload op as retryable instead of hanging it.
    connectionTimeoutMillis: 5_000,
    application_name: 'syncscope-demo-backend'
  });
  // Idle clients dropped by the server (restart, failover) must not crash the process; the next query
  // reconnects and in-flight ops report a retryable failure.
  pool.on('error', (error) => options.logger.warn({ err: error.message }, 'demo backend pool client error'));
  const sessions = new SessionStore();
  const auth: AuthConfig = {
    sessions,
    publicJwk: options.signingKey.publicJwk,
    audience: options.audience,
    probeAudience: options.probeAudience
  };
  const ttl = options.tokenTtlSeconds ?? 300;
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (isSyncScopeError(error)) return reply.code(error.status).send(error.toResponse());
    if (error.statusCode === 413) {
      return reply
        .code(413)
        .send(
          new SyncScopeError(
            'SYNCSCOPE_E_REQUEST_TOO_LARGE',
            `The body is over ${BODY_LIMIT_BYTES} bytes; send smaller batches.`
          ).toResponse()
        );
    }
    if (error.statusCode && error.statusCode < 500) {
      return reply
        .code(error.statusCode)
        .send(new SyncScopeError('SYNCSCOPE_E_REQUEST_INVALID', error.message).toResponse());
    }
    options.logger.error({ err: error.message }, 'demo backend request failed');
    return reply
      .code(500)
      .send(
        new SyncScopeError('SYNCSCOPE_E_INTERNAL_ERROR', 'Internal error; see the backend log.').toResponse()
      );
  });
  // Fastify's own 404 body has another shape; every answer of this API carries {error: {code, message}}.
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'SYNCSCOPE_E_REQUEST_INVALID',
        message: `No route ${request.method} ${request.url.split('?')[0]}.`
      }
    })
  );

  app.get('/healthz', async () => {
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new SyncScopeError('SYNCSCOPE_E_PG_UNREACHABLE', 'The app database does not answer.', undefined, {
        cause: error
      });
    }
    return { ok: true };
  });

  app.get('/.well-known/jwks.json', async () => jwksDocument([options.signingKey]));

  if (options.demoMode) {
    app.post('/api/dev/login', async (request, reply) => {
      const email = (request.body as { email?: unknown } | undefined)?.email;
      if (typeof email !== 'string')
        throw new SyncScopeError('SYNCSCOPE_E_REQUEST_INVALID', 'Send {"email": "..."}.');
      const { rows } = await pool.query<{ id: string; email: string }>(
        'SELECT id, email FROM users WHERE email = $1',
        [email]
      );
      const user = rows[0];
      if (!user)
        throw new SyncScopeError(
          'SYNCSCOPE_E_AUTH_REQUIRED',
          `No demo user has the email ${JSON.stringify(email.slice(0, 200))}.`
        );
      const session = sessions.create(user.id);
      const maxAge = Math.floor(SESSION_TTL_MS / 1000);
      reply.header(
        'Set-Cookie',
        `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${maxAge}`
      );
      options.logger.info({ user: user.id }, 'demo login'); // the user, never the session
      return { session, user };
    });
  }

  // Sync tokens are issued for a signed-in app session only (never in exchange for another token).
  app.get('/api/powersync/token', async (request) => {
    const userId = sessions.userOf(presentedCredential(request));
    if (!userId)
      throw new SyncScopeError(
        'SYNCSCOPE_E_AUTH_REQUIRED',
        'Sign in first (POST /api/dev/login in demo mode).'
      );
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: options.signingKey.alg, kid: options.signingKey.kid })
      .setSubject(userId)
      .setAudience(options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(options.signingKey.privateKey);
    return {
      token,
      powersync_url: options.powersyncUrl,
      expires_at: new Date((now + ttl) * 1000).toISOString()
    };
  });

  registerUploadRoute(app, { pool, auth, onResults: options.onResults, logger: options.logger });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await pool.end();
    }
  };
}
