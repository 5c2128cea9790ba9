import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTHeaderParameters,
  SignJWT
} from 'jose';

/**
 * Why a token must be refused. Each server maps these to its own codes (the dev sync server to the
 * service's PSYNC_S21xx, the demo backend to its single coded 401).
 */
export type Refusal = 'signature' | 'audience' | 'expired' | 'claims' | 'lifetime';

/** A key the server under test trusts: tokens signed with it and carrying its kid are genuine. */
export interface TrustedKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface JwtCase {
  name: string;
  /** `accepted` for the controls, so a server that refuses everything fails the matrix. */
  expect: 'accepted' | Refusal;
  token: string;
}

/** The service's longest accepted lifetime (token_max_expiration defaults to 1d) and its clock tolerance (60 s). */
export const MAX_LIFETIME_SECONDS = 86_400;
export const BEYOND_TOLERANCE_SECONDS = 3_600;

/** A fresh key of the trusted key's algorithm, exported with its public JWK. */
export async function generateTrustedKey(
  kid: string,
  alg: TrustedKey['alg'],
  options: { jwkAlg: boolean }
): Promise<TrustedKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, use: 'sig' };
  if (options.jwkAlg) publicJwk.alg = alg;
  return { kid, alg, privateKey: pair.privateKey, publicJwk };
}

/**
 * An HTTP server serving one JWKS at every path and counting requests. As the attacker's key host, a
 * verifier that followed a token's `jku` or `x5u` would find there a key that verifies the token, so a
 * refusal with zero hits shows the header was ignored; as a trusted host, it is a `jwks_uri`.
 */
export async function startJwksHost(jwks: { keys: JWK[] }): Promise<{
  url: string;
  hits(): number;
  close(): Promise<void>;
}> {
  let hits = 0;
  const server = http.createServer((_request, response) => {
    hits++;
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  };
}

interface Claims {
  sub?: string;
  aud?: string | string[];
  iat?: number;
  exp?: number;
  nbf?: number;
}

function unsigned(header: object, claims: Claims): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part({ ...claims, jti: randomUUID() })}.`;
}

async function sign(
  key: CryptoKey | Uint8Array,
  header: JWTHeaderParameters,
  claims: Claims
): Promise<string> {
  return new SignJWT({ ...claims, jti: randomUUID() }).setProtectedHeader(header).sign(key);
}

/** The trusted key's public half as the bytes an HS256 alg-confusion attack uses as the shared secret. */
async function publicKeyBytes(trusted: TrustedKey): Promise<Uint8Array[]> {
  const publicKey = (await importJWK(trusted.publicJwk, trusted.alg)) as CryptoKey;
  const pem = await exportSPKI(publicKey);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return [new TextEncoder().encode(pem), new Uint8Array(der)];
}

/** Replaces a claim after signing: the signature no longer covers the payload. */
function tampered(token: string, claims: Claims): string {
  const [header, payload, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
  return [header, base64url.encode(JSON.stringify({ ...decoded, ...claims })), signature].join('.');
}

/**
 * The bad-JWT matrix: genuine controls, then every forgery and claim violation the PowerSync service
 * refuses (KeyStore.verifyJwt in powersync-service packages/service-core/src/auth/KeyStore.ts: kid and
 * algorithm family checked per key, required sub/iat/exp, aud against the configured audiences,
 * exp - iat at most token_max_expiration, 60 s clock tolerance).
 */
export async function badJwtMatrix(input: {
  trusted: TrustedKey;
  audience: string;
  sub: string;
  keyHostUrl: string;
  attacker: TrustedKey;
}): Promise<JwtCase[]> {
  const { trusted, audience, sub, attacker } = input;
  const now = Math.floor(Date.now() / 1000);
  const good: Claims = { sub, aud: audience, iat: now, exp: now + 300 };
  const header: JWTHeaderParameters = { alg: trusted.alg, kid: trusted.kid };
  const genuine = (claims: Claims) => sign(trusted.privateKey, header, claims);
  const forged = (h: JWTHeaderParameters) => sign(attacker.privateKey, h, good);
  const [pem, der] = await publicKeyBytes(trusted);
  const attackerHeader = { alg: attacker.alg, kid: attacker.kid };
  const { kid: _drop, ...attackerPublic } = attacker.publicJwk;
  const far = BEYOND_TOLERANCE_SECONDS;
  const cases: [string, JwtCase['expect'], Promise<string> | string][] = [
    ['control: a genuine token', 'accepted', genuine(good)],
    ['control: aud as a list holding the audience', 'accepted', genuine({ ...good, aud: ['x', audience] })],
    [
      'control: lifetime exactly the limit',
      'accepted',
      genuine({ ...good, exp: now + MAX_LIFETIME_SECONDS })
    ],
    ['control: iat 2 s ahead (clock skew)', 'accepted', genuine({ ...good, iat: now + 2, exp: now + 302 })],
    [
      'alg none, unsigned, with the trusted kid',
      'signature',
      unsigned({ alg: 'none', kid: trusted.kid }, good)
    ],
    ['alg none, unsigned, no kid', 'signature', unsigned({ alg: 'none', typ: 'JWT' }, good)],
    [
      'HS256 keyed with the trusted public key (PEM)',
      'signature',
      sign(pem!, { alg: 'HS256', kid: trusted.kid }, good)
    ],
    [
      'HS256 keyed with the trusted public key (DER)',
      'signature',
      sign(der!, { alg: 'HS256', kid: trusted.kid }, good)
    ],
    ['HS256 keyed with the public key, no kid', 'signature', sign(pem!, { alg: 'HS256' }, good)],
    [
      'unknown kid, signed with the trusted key',
      'signature',
      sign(trusted.privateKey, { alg: trusted.alg, kid: `${trusted.kid}-unknown` }, good)
    ],
    ['unknown kid, signed by an attacker', 'signature', forged(attackerHeader)],
    ['the trusted kid, signed by an attacker', 'signature', forged({ ...attackerHeader, kid: trusted.kid })],
    ['no kid, signed by an attacker', 'signature', forged({ alg: attacker.alg })],
    [
      'payload changed after signing',
      'signature',
      genuine(good).then((t) => tampered(t, { sub: 'someone-else' }))
    ],
    [
      'jku to the attacker JWKS',
      'signature',
      forged({ ...attackerHeader, jku: `${input.keyHostUrl}/jwks.json` })
    ],
    [
      'jku to the attacker JWKS, trusted kid',
      'signature',
      forged({ ...attackerHeader, kid: trusted.kid, jku: `${input.keyHostUrl}/jwks.json` })
    ],
    [
      'x5u to the attacker host',
      'signature',
      forged({ ...attackerHeader, x5u: `${input.keyHostUrl}/cert.pem` })
    ],
    ['embedded jwk (attacker public key)', 'signature', forged({ ...attackerHeader, jwk: attackerPublic })],
    [
      'embedded jwk, trusted kid',
      'signature',
      forged({ alg: attacker.alg, kid: trusted.kid, jwk: attackerPublic })
    ],
    ['embedded jwk, no kid', 'signature', forged({ alg: attacker.alg, jwk: attackerPublic })],
    ['wrong aud', 'audience', genuine({ ...good, aud: 'someone-else' })],
    ['missing aud', 'audience', genuine({ ...good, aud: undefined })],
    ['expired an hour ago', 'expired', genuine({ ...good, iat: now - far - 300, exp: now - far })],
    ['nbf an hour ahead', 'claims', genuine({ ...good, nbf: now + far, exp: now + far + 300 })],
    ['iat an hour ahead', 'claims', genuine({ ...good, iat: now + far, exp: now + far + 300 })],
    [
      'iat a day ahead, so exp - iat hides a two-day life',
      'claims',
      genuine({ ...good, iat: now + MAX_LIFETIME_SECONDS, exp: now + 2 * MAX_LIFETIME_SECONDS })
    ],
    [
      'lifetime a second over the limit',
      'lifetime',
      genuine({ ...good, exp: now + MAX_LIFETIME_SECONDS + 1 })
    ],
    ['missing exp', 'claims', genuine({ ...good, exp: undefined })],
    ['missing iat', 'claims', genuine({ ...good, iat: undefined })],
    ['missing sub', 'claims', genuine({ ...good, sub: undefined })],
    ['empty sub', 'claims', genuine({ ...good, sub: '' })]
  ];
  return Promise.all(cases.map(async ([name, expect, token]) => ({ name, expect, token: await token })));
}
