import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Compared as SHA-256 digests in constant
 * time, so neither the token's content nor its length leaks through timing.
 */
export function bearerTokenMatches(authorization: string | null | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  return given !== undefined && timingSafeEqual(digest(given), digest(token));
}
