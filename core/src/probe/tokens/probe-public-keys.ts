/**
 * The public halves of probe signing keys as a JWKS document: what a PowerSync service needs to trust
 * probe tokens (its `client_auth.jwks_uri` can list the agent's /.well-known/jwks.json beside the app's).
 * Shared HS256 secrets have no public half and are never published.
 */
import { createPublicKey } from 'node:crypto';
import type { ProbeSigningKey } from '../probe-types.ts';

export interface PublicJwk {
  kty: string;
  kid: string;
  alg: string;
  use: 'sig';
  [field: string]: unknown;
}

export function publicJwkOf(key: ProbeSigningKey): PublicJwk | null {
  if (key.kind === 'hs256') return null;
  // Node derives the public key from the private one; only public fields are exported.
  const exported = createPublicKey({ key: key.jwk as never, format: 'jwk' }).export({ format: 'jwk' });
  return { ...(exported as { kty: string }), kid: key.kid, alg: key.alg, use: 'sig' };
}

/** One entry per key id; the first key seen for a kid wins. */
export function probeJwks(keys: ProbeSigningKey[]): { keys: PublicJwk[] } {
  const byKid = new Map<string, PublicJwk>();
  for (const key of keys) {
    const jwk = publicJwkOf(key);
    if (jwk && !byKid.has(jwk.kid)) byKid.set(jwk.kid, jwk);
  }
  return { keys: [...byKid.values()] };
}
