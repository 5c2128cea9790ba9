import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';
import { SyncScopeError } from '../../errors/index.ts';
import type { AuditEntry } from '../../ops-db/ops-database.ts';
import type { ProbeSigningKey, ProbeTarget } from '../probe-types.ts';
import { hideOnPrint } from './hide-secrets.ts';

/** Probe tokens live at most 5 minutes: long enough for one probe, short enough to be harmless if leaked. */
export const MAX_PROBE_TOKEN_TTL_SECONDS = 300;
export const DEFAULT_PROBE_TOKEN_TTL_SECONDS = 240;
/** Every probe token carries this claim, so the service's logs and the app can tell probes apart. */
export const PROBE_MARKER_CLAIM = 'syncscope_probe';
/** Claims the minter sets itself; neither the target's extra claims nor a probe's claims may set them. */
export const RESERVED_PROBE_CLAIMS = ['sub', 'aud', 'iss', 'iat', 'exp', 'jti', PROBE_MARKER_CLAIM] as const;

export interface MintedProbeToken {
  /** The signed JWT. The object prints without it (JSON.stringify, util.inspect, pino). */
  token: string;
  kid: string;
  jti: string;
  audience: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** The JWS alg a probe signing key signs with. */
export function probeKeyAlg(key: ProbeSigningKey): 'HS256' | 'RS256' | 'ES256' | 'EdDSA' {
  return key.kind === 'hs256' ? 'HS256' : key.alg;
}

const importedKeys = new WeakMap<ProbeSigningKey, Promise<CryptoKey | Uint8Array>>();

function signingMaterial(key: ProbeSigningKey): Promise<CryptoKey | Uint8Array> {
  let material = importedKeys.get(key);
  if (!material) {
    material =
      key.kind === 'hs256'
        ? Promise.resolve(key.secret)
        : (importJWK(key.jwk as JWK, key.alg) as Promise<CryptoKey | Uint8Array>);
    importedKeys.set(key, material);
  }
  return material;
}

function assertNoReservedClaims(claims: Record<string, unknown> | undefined, where: string): void {
  const clashes = Object.keys(claims ?? {}).filter((k) =>
    (RESERVED_PROBE_CLAIMS as readonly string[]).includes(k)
  );
  if (clashes.length > 0) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID',
      `${where} may not set ${clashes.join(', ')}: the probe sets ${RESERVED_PROBE_CLAIMS.join(', ')} itself (sub is the probed user, aud the target's audience). Remove ${clashes.length > 1 ? 'them' : 'it'}.`,
      { claims: clashes }
    );
  }
}

/** Where a minted token's audit entry goes: the ops database (OpsDatabase), or a table of a test's own. */
export interface ProbeTokenAuditSink {
  audit(entry: AuditEntry): Promise<void>;
}

/** Who asks to impersonate a user, why, and where that is written down before any token exists. */
export interface ProbeTokenAuthorisation {
  /** `cli:<os user>`, `schedule:<agent>`, the console user, the agent API's caller. */
  actor: string;
  reason: string;
  audit: ProbeTokenAuditSink;
}

export interface AuditedProbeTokenRequest extends ProbeTokenAuthorisation {
  target: ProbeTarget;
  userId: string;
  claims?: Record<string, unknown>;
  /** `read` (a probe) or `write` (a write probe). */
  purpose: 'read' | 'write';
  subscriptions?: readonly unknown[];
  ttlSeconds?: number;
}

const MAX_AUTHORISATION_LENGTH = 500;

function assertAuthorised(request: AuditedProbeTokenRequest): void {
  for (const [field, code] of [
    ['actor', 'SYNCSCOPE_E_PROBE_ACTOR_REQUIRED'],
    ['reason', 'SYNCSCOPE_E_PROBE_REASON_REQUIRED']
  ] as const) {
    const value = request[field];
    if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_AUTHORISATION_LENGTH) {
      throw new SyncScopeError(
        code,
        `Impersonating ${request.userId} on target "${request.target.name}" needs a non-empty ${field} (at most ${MAX_AUTHORISATION_LENGTH} characters): it goes to the audit log before a probe token is minted.`
      );
    }
  }
}

/**
 * The one way to get a probe token: refuses without an actor and a reason, writes the
 * `probe.token_minted` audit entry (actor, target, user, reason, kid, jti, audience, expiry,
 * subscriptions) first, and only then signs the token with that jti. If the audit write fails, no token
 * is signed.
 */
export async function mintAuditedProbeToken(request: AuditedProbeTokenRequest): Promise<MintedProbeToken> {
  assertAuthorised(request);
  const draft = draftProbeToken(request.target, request.userId, request.claims, request.ttlSeconds);
  try {
    await request.audit.audit({
      actor: request.actor,
      action: 'probe.token_minted',
      target: request.target.name,
      subjectUser: request.userId,
      reason: request.reason,
      details: {
        kid: draft.kid,
        jti: draft.jti,
        audience: draft.audience,
        expiresAt: draft.expiresAt,
        purpose: request.purpose,
        subscriptions: request.subscriptions ?? []
      }
    });
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_AUDIT_FAILED',
      `The audit entry for a probe token could not be written (${error instanceof Error ? error.message : String(error)}); no token was minted. Check the ops database (SYNCSCOPE_OPS_DATABASE_URL).`
    );
  }
  return draft.sign();
}

interface ProbeTokenDraft extends Omit<MintedProbeToken, 'token'> {
  sign(): Promise<MintedProbeToken>;
}

/**
 * Checks the request and fixes the token's kid, jti and lifetime without signing it: the audit entry is
 * written between the two. Module-private, so no caller can sign without the audit.
 */
function draftProbeToken(
  target: ProbeTarget,
  userId: string,
  claims?: Record<string, unknown>,
  ttlSeconds = DEFAULT_PROBE_TOKEN_TTL_SECONDS
): ProbeTokenDraft {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PROBE_TOKEN_TTL_SECONDS) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID',
      `A probe token lives between 1 and ${MAX_PROBE_TOKEN_TTL_SECONDS} seconds; ${ttlSeconds} was asked for. Use a shorter lifetime (the default is ${DEFAULT_PROBE_TOKEN_TTL_SECONDS}).`
    );
  }
  if (!userId) {
    throw new SyncScopeError('SYNCSCOPE_E_PROBE_TOKEN_INVALID', 'A probe token needs a user id (sub).');
  }
  if (claims !== undefined && (claims === null || typeof claims !== 'object' || Array.isArray(claims))) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID',
      'Probe claims must be a JSON object, e.g. {"tenant_id":"t1"}.'
    );
  }
  assertNoReservedClaims(target.extraClaims, `Target "${target.name}"'s extra_claims`);
  assertNoReservedClaims(claims, 'The probe claims');

  const issuedAtSeconds = Math.floor(Date.now() / 1000);
  const expiresAtSeconds = issuedAtSeconds + ttlSeconds;
  const fixed = {
    kid: target.signing.kid,
    jti: randomUUID(),
    audience: target.audience,
    issuedAt: new Date(issuedAtSeconds * 1000),
    expiresAt: new Date(expiresAtSeconds * 1000)
  };
  const sign = async (): Promise<MintedProbeToken> => {
    const jwt = new SignJWT({ ...(target.extraClaims ?? {}), ...(claims ?? {}), [PROBE_MARKER_CLAIM]: true })
      .setProtectedHeader({ alg: probeKeyAlg(target.signing), kid: fixed.kid, typ: 'JWT' })
      .setSubject(userId)
      .setAudience(target.audience)
      .setIssuedAt(issuedAtSeconds)
      .setExpirationTime(expiresAtSeconds)
      .setJti(fixed.jti);
    if (target.issuer) jwt.setIssuer(target.issuer);
    const minted: MintedProbeToken = {
      token: await jwt.sign(await signingMaterial(target.signing)),
      ...fixed
    };
    return hideOnPrint(minted, () => ({
      token: '[redacted]',
      kid: fixed.kid,
      jti: fixed.jti,
      audience: fixed.audience,
      issuedAt: fixed.issuedAt.toISOString(),
      expiresAt: fixed.expiresAt.toISOString()
    }));
  };
  return { ...fixed, sign };
}

/** Makes a probe signing key print as `[ProbeSigningKey kid=… alg=…]`. */
export function hideSigningKey<K extends ProbeSigningKey>(key: K): K {
  const marker = `[ProbeSigningKey kid=${key.kid} alg=${probeKeyAlg(key)}]`;
  return hideOnPrint(key, () => marker);
}
