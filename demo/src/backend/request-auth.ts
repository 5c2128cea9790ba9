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

/** As the sync service: tokens live at most a day, and clocks may be a minute apart. */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400;
const CLOCK_TOLERANCE_SECONDS = 60;

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
    const userId = await verifiedSubject(token, auth).catch(() => undefined);
    if (userId) return userId;
  }
  throw new SyncScopeError(
    'SYNCSCOPE_E_AUTH_REQUIRED',
    'Sign in first: POST /api/dev/login, or send a valid token.'
  );
}

/**
 * The subject of a sync token this backend issued: its key and kid, its audience, sub/iat/exp present,
 * iat not ahead of now, a lifetime of at most a day. Throws (or answers undefined) otherwise; the caller
 * answers every failure with the same generic 401 (no oracle).
 */
async function verifiedSubject(token: string, auth: AuthConfig): Promise<string | undefined> {
  const { payload, protectedHeader } = await jwtVerify(token, await verificationKey(auth.publicJwk), {
    audience: auth.audience,
    algorithms: [SIGNING_ALG],
    requiredClaims: ['sub', 'iat', 'exp'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS
  });
  const { sub, iat, exp } = payload as { sub: unknown; iat: number; exp: number };
  if (protectedHeader.kid !== auth.publicJwk.kid) return undefined;
  if (iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) return undefined;
  if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) return undefined;
  return typeof sub === 'string' && sub !== '' ? sub : undefined;
}

function safeAudience(token: string): string | string[] {
  try {
    return decodeJwt(token).aud ?? [];
  } catch {
    return [];
  }
}
