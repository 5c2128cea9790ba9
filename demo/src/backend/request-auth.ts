import { SIGNING_ALG, SyncScopeError } from '@syncscope/core';
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

/** The bearer token, else the session cookie: what a request presents as its credential. */
export function presentedCredential(request: FastifyRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return bearer ?? cookieValue(request.headers.cookie, SESSION_COOKIE);
}

// Imported once per key: importJWK is not free, and uploads arrive in bursts.
const importedKeys = new WeakMap<JWK, Promise<CryptoKey | Uint8Array>>();
function verificationKey(jwk: JWK): Promise<CryptoKey | Uint8Array> {
  let key = importedKeys.get(jwk);
  if (!key) {
    key = importJWK(jwk, SIGNING_ALG);
    importedKeys.set(jwk, key);
  }
  return key;
}

/**
 * The user a request acts for: a dev-login session (cookie or bearer), or a sync JWT this backend
 * issued. SyncScope probe tokens carry another audience and are refused, so a probe's token cannot be
 * replayed here to write as the impersonated user.
 */
export async function authenticatedUserOrThrow(request: FastifyRequest, auth: AuthConfig): Promise<string> {
  const token = presentedCredential(request);
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
      const { payload } = await jwtVerify(token, await verificationKey(auth.publicJwk), {
        audience: auth.audience,
        algorithms: [SIGNING_ALG]
      });
      if (typeof payload.sub === 'string' && payload.sub !== '') return payload.sub;
    } catch {
      // Expired, wrong audience, bad signature: all the same generic 401 below (no oracle).
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
