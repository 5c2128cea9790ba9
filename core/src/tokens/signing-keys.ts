import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

export const SIGNING_ALG = 'RS256';

export interface SigningKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  privateKey: CryptoKey;
  /** The public half as a JWK, ready for a JWKS document. */
  publicJwk: JWK;
}

/** Secret-holding objects print as a marker, so a logged key never leaks. */
function redactOnInspect(key: SigningKey): SigningKey {
  const marker = `[SigningKey kid=${key.kid}]`;
  Object.defineProperty(key, 'toJSON', { value: () => marker, enumerable: false });
  Object.defineProperty(key, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => marker,
    enumerable: false
  });
  return key;
}

async function fromPrivateJwk(jwk: JWK, kid: string): Promise<SigningKey> {
  const privateKey = (await importJWK(jwk, SIGNING_ALG)) as CryptoKey;
  const { kty, n, e } = jwk;
  return redactOnInspect({
    kid,
    alg: SIGNING_ALG,
    privateKey,
    publicJwk: { kty, n, e, kid, alg: SIGNING_ALG, use: 'sig' }
  });
}

/**
 * Loads the RS256 key `<dir>/<kid>.private.jwk.json`, creating it (mode 0600) on first use, so a restart
 * keeps issued tokens valid.
 */
export async function loadOrCreateSigningKey(dir: string, kid: string): Promise<SigningKey> {
  const file = path.join(dir, `${kid}.private.jwk.json`);
  if (existsSync(file)) {
    return fromPrivateJwk(JSON.parse(await readFile(file, 'utf8')) as JWK, kid);
  }
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(jwk), { mode: 0o600 });
  return fromPrivateJwk(jwk, kid);
}

export function jwksDocument(keys: SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}
