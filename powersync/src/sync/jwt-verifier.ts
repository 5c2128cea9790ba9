import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify
} from 'jose';
import { AuthorizationError } from './auth-error.ts';

/** The service refuses tokens that live longer than a day (token_max_expiration defaults to 1d). */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** The service's clock tolerance (KeyStore.verifyJwt): exp, nbf and iat may be this far off. */
export const CLOCK_TOLERANCE_SECONDS = 60;

/** Algorithm families by key type, as the service matches a key without `alg` (KeySpec.matchesAlgorithm). */
const ALGORITHMS_BY_KTY: Record<string, string[]> = {
  oct: ['HS256', 'HS384', 'HS512'],
  RSA: ['RS256', 'RS384', 'RS512'],
  EC: ['ES256', 'ES384', 'ES512'],
  OKP: ['EdDSA']
};
const SUPPORTED_ALGORITHMS = Object.values(ALGORITHMS_BY_KTY).flat();

function keyMatchesAlgorithm(key: JWK, alg: string): boolean {
  return key.alg ? key.alg === alg : (ALGORITHMS_BY_KTY[key.kty ?? ''] ?? []).includes(alg);
}

export interface ClientAuthConfig {
  jwks_uri?: string | string[];
  jwks?: { keys: Record<string, unknown>[] };
  audience: string[];
}

export interface VerifiedToken {
  payload: JWTPayload & { sub: string; exp: number; iat: number };
  kid: string | undefined;
}

type KeyResolver = JWTVerifyGetKey;

/**
 * Inline keys, including HS256 `oct` keys (which jose's JWKS helpers refuse): matched by kid, and
 * the token's alg must be the key's alg, or of its key type's family when the key names none (so an
 * RSA public key is never used as an HS256 secret).
 */
function inlineKeyResolver(keys: JWK[]): KeyResolver {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  return async (header) => {
    const key = keys.find((k) => (k.kid ?? undefined) === header.kid);
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    if (!keyMatchesAlgorithm(key, header.alg)) throw new joseErrors.JWKSNoMatchingKey();
    const cacheKey = `${key.kid}/${header.alg}`;
    if (!imported.has(cacheKey))
      imported.set(cacheKey, importJWK(key, header.alg) as Promise<CryptoKey | Uint8Array>);
    return imported.get(cacheKey)!;
  };
}

/** Verifies sync JWTs as the PowerSync service does: kid/alg against known keys, audience, lifetime. */
export class JwtVerifier {
  private readonly resolvers: KeyResolver[];

  constructor(private readonly config: ClientAuthConfig) {
    this.resolvers = [];
    if (config.jwks?.keys.length) this.resolvers.push(inlineKeyResolver(config.jwks.keys as JWK[]));
    const uris = config.jwks_uri === undefined ? [] : [config.jwks_uri].flat();
    for (const uri of uris)
      this.resolvers.push(createRemoteJWKSet(new URL(uri), { cooldownDuration: 5_000 }));
  }

  /** Parses `Authorization: Token <jwt>` (or `Bearer`). */
  static tokenFromHeader(header: string | undefined): string {
    const match = /^(?:Token|Bearer)\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new AuthorizationError('PSYNC_S2106', 'Authentication required');
    return match[1]!;
  }

  /**
   * A token expired less than the clock tolerance ago verifies, as in the service: the stream then
   * answers `{"token_expires_in":0}`; one expired longer ago is refused with S2103.
   */
  async verify(token: string): Promise<VerifiedToken> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AuthorizationError('PSYNC_S2101', 'Token is not a valid JWT');
    }
    const payload = await this.verifySignature(token, header.kid);
    this.checkClaims(payload);
    return { payload: payload as VerifiedToken['payload'], kid: header.kid };
  }

  private async verifySignature(token: string, kid: string | undefined): Promise<JWTPayload> {
    let lastError: unknown = null;
    for (const resolve of this.resolvers) {
      try {
        const { payload } = await jwtVerify(token, resolve, {
          algorithms: SUPPORTED_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS
        });
        return payload;
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw new AuthorizationError('PSYNC_S2103', 'JWT has expired');
        lastError = error;
      }
    }
    if (
      lastError instanceof joseErrors.JWKSNoMatchingKey ||
      this.resolvers.length === 0 ||
      lastError === null
    ) {
      throw new AuthorizationError(
        'PSYNC_S2101',
        `Could not find an appropriate key in the keystore (kid: ${kid ?? 'none'})`
      );
    }
    if (lastError instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new AuthorizationError(
        'PSYNC_S2101',
        `Signature does not match the key with kid ${kid ?? 'none'}`
      );
    }
    throw new AuthorizationError(
      'PSYNC_S2101',
      `Could not verify the token: ${(lastError as Error).message}`
    );
  }

  private checkClaims(payload: JWTPayload): void {
    if (payload.aud === undefined)
      throw new AuthorizationError('PSYNC_S2105', 'JWT payload is missing a required claim "aud"');
    const audiences = [payload.aud].flat();
    if (!audiences.some((a) => this.config.audience.includes(a))) {
      throw new AuthorizationError(
        'PSYNC_S2105',
        `Unexpected "aud" claim value: ${JSON.stringify(payload.aud)}`
      );
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new AuthorizationError('PSYNC_S2101', 'JWT payload is missing a required claim "sub"');
    }
    if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number') {
      throw new AuthorizationError('PSYNC_S2101', 'JWT payload is missing a required claim "iat" or "exp"');
    }
    // Stricter than the service, which leaves iat unchecked: an iat in the future would let exp - iat
    // hide a longer life (iat a day ahead, exp two days ahead passes the lifetime check).
    if (payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw new AuthorizationError(
        'PSYNC_S2101',
        '"iat" claim timestamp check failed (it should be in the past)'
      );
    }
    if (payload.exp - payload.iat > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new AuthorizationError(
        'PSYNC_S2104',
        `Token must expire in a maximum of ${MAX_TOKEN_LIFETIME_SECONDS} seconds, got ${payload.exp - payload.iat}`
      );
    }
  }
}
