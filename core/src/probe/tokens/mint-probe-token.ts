import { randomUUID } from 'node:crypto';
import { importJWK, type JWK, SignJWT } from 'jose';
import { SyncScopeError } from '../../errors/index.ts';
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

/**
 * Signs a short-lived sync token for `userId` with the target's probe key: header kid = the key's kid,
 * claims sub, aud, iss (if set), iat, exp, jti (random) and `syncscope_probe: true`, plus the target's
 * extra claims and `claims` (which must not set any of those).
 */
export async function mintProbeToken(
  target: ProbeTarget,
  userId: string,
  claims?: Record<string, unknown>,
  ttlSeconds = DEFAULT_PROBE_TOKEN_TTL_SECONDS
): Promise<MintedProbeToken> {
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
  const jti = randomUUID();
  const kid = target.signing.kid;
  const jwt = new SignJWT({ ...(target.extraClaims ?? {}), ...(claims ?? {}), [PROBE_MARKER_CLAIM]: true })
    .setProtectedHeader({ alg: probeKeyAlg(target.signing), kid, typ: 'JWT' })
    .setSubject(userId)
    .setAudience(target.audience)
    .setIssuedAt(issuedAtSeconds)
    .setExpirationTime(expiresAtSeconds)
    .setJti(jti);
  if (target.issuer) jwt.setIssuer(target.issuer);
  const token = await jwt.sign(await signingMaterial(target.signing));

  const minted: MintedProbeToken = {
    token,
    kid,
    jti,
    audience: target.audience,
    issuedAt: new Date(issuedAtSeconds * 1000),
    expiresAt: new Date(expiresAtSeconds * 1000)
  };
  return hideOnPrint(minted, () => ({
    token: '[redacted]',
    kid,
    jti,
    audience: minted.audience,
    issuedAt: minted.issuedAt.toISOString(),
    expiresAt: minted.expiresAt.toISOString()
  }));
}

/** Makes a probe signing key print as `[ProbeSigningKey kid=… alg=…]`. */
export function hideSigningKey<K extends ProbeSigningKey>(key: K): K {
  const marker = `[ProbeSigningKey kid=${key.kid} alg=${probeKeyAlg(key)}]`;
  return hideOnPrint(key, () => marker);
}
