import { SyncScopeError } from '@syncscope/core';
import type { FastifyRequest } from 'fastify';
import { decodeJwt, importJWK, type JWK, jwtVerify } from 'jose';
import { cookieValue, SESSION_COOKIE, type SessionStore } from './sessions.ts';

export interface AuthConfig {
  sessions: SessionStore;
  publicJwk: JWK;
  audience: string;
  probeAudience: string;
}

const looksLikeJwt = (token: string) => token.split('.').length === 3;

/**
 * The user a request acts for: a dev-login session (cookie or bearer), or a sync JWT this backend
 * issued. SyncScope probe tokens carry another audience and are refused, so a probe's token cannot be
 * replayed here to write as the impersonated user.
 */
export async function authenticatedUserOrThrow(request: FastifyRequest, auth: AuthConfig): Promise<string> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const token = bearer ?? cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (token && !looksLikeJwt(token)) {
    const userId = auth.sessions.userOf(token);
    if (userId) return userId;
  }
  if (token && looksLikeJwt(token)) {
    const aud = [safeAudience(token)].flat();
    if (aud.includes(auth.probeAudience)) {
      throw new SyncScopeError(
        'SYNCSCOPE_E_AUTH_TOKEN_AUDIENCE',
        `Tokens for audience "${auth.probeAudience}" (SyncScope probes) are not accepted by the app backend.`
      );
    }
    try {
      const key = await importJWK(auth.publicJwk, 'RS256');
      const { payload } = await jwtVerify(token, key, { audience: auth.audience });
      if (typeof payload.sub === 'string') return payload.sub;
    } catch {
      // fall through to the generic 401
    }
  }
  throw new SyncScopeError(
    'SYNCSCOPE_E_AUTH_REQUIRED',
    'Sign in first: POST /api/dev/login, or send a valid token.'
  );
}

function safeAudience(token: string): string | string[] {
  try {
    return decodeJwt(token).aud ?? [];
  } catch {
    return [];
  }
}
