import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify
} from 'jose';
import { AuthorizationError } from './auth-error.ts';

/** The service refuses tokens that live longer than a day. */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400;

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
 * the token's alg must be the key's alg.
 */
function inlineKeyResolver(keys: JWK[]): KeyResolver {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  return async (header) => {
    const key = keys.find((k) => (k.kid ?? undefined) === header.kid);
    if (!key) throw new joseErrors.JWKSNoMatchingKey();
    if (key.alg && key.alg !== header.alg) throw new joseErrors.JWKSNoMatchingKey();
    const cacheKey = `${key.kid}/${header.alg}`;
    if (!imported.has(cacheKey))
      imported.set(cacheKey, importJWK(key, header.alg) as Promise<CryptoKey | Uint8Array>);
    return imported.get(cacheKey)!;
  };
}

/** For an expired token the stream still needs its claims: verify as of a second before it expired. */
function verificationTime(token: string): Date {
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp === 'number' && exp * 1000 <= Date.now()) return new Date((exp - 1) * 1000);
  } catch {
    // malformed: jwtVerify reports it
  }
  return new Date();
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

  async verify(token: string, options: { allowExpired?: boolean } = {}): Promise<VerifiedToken> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AuthorizationError('PSYNC_S2101', 'Token is not a valid JWT');
    }
    const payload = await this.verifySignature(token, header.kid, options.allowExpired ?? false);
    this.checkClaims(payload);
    return { payload: payload as VerifiedToken['payload'], kid: header.kid };
  }

  private async verifySignature(
    token: string,
    kid: string | undefined,
    allowExpired: boolean
  ): Promise<JWTPayload> {
    let lastError: unknown = null;
    for (const resolve of this.resolvers) {
      try {
        const { payload } = await jwtVerify(token, resolve, {
          // An expired token is answered with token_expires_in: 0 on the stream, so the stream checks exp itself.
          currentDate: allowExpired ? verificationTime(token) : undefined,
          clockTolerance: 5
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
    if (payload.exp - payload.iat > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new AuthorizationError(
        'PSYNC_S2104',
        `Token must expire in a maximum of ${MAX_TOKEN_LIFETIME_SECONDS} seconds, got ${payload.exp - payload.iat}`
      );
    }
  }
}
