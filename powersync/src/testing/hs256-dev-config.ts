import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { type LoadedServiceConfig, parseServiceConfig } from '../config/load-service-config.ts';

export const TEST_AUDIENCE = 'powersync-dev';
export const TEST_KID = 'test-hs256';
export const TEST_API_TOKEN = 'test-api-token-0123456789';

/** A dev server config over the given databases, trusting one HS256 key (as the reference captures did). */
export function hs256DevConfig(input: {
  sourceUrl: string;
  storageUrl: string;
  port: number;
  secret: Uint8Array;
  rulesYaml: string;
}): LoadedServiceConfig {
  const yaml = `
replication:
  connections:
    - type: postgresql
      uri: ${input.sourceUrl}
      sslmode: disable
storage:
  type: postgresql
  uri: ${input.storageUrl}
port: ${input.port}
client_auth:
  audience: ['${TEST_AUDIENCE}']
  jwks:
    keys:
      - kty: oct
        alg: HS256
        kid: ${TEST_KID}
        k: ${Buffer.from(input.secret).toString('base64url')}
api:
  tokens: ['${TEST_API_TOKEN}']
`;
  return { ...parseServiceConfig(yaml), syncRulesYaml: input.rulesYaml, syncRulesPath: undefined };
}

export interface MintOptions {
  ttlSeconds?: number;
  aud?: string;
  kid?: string;
  claims?: Record<string, unknown>;
  secret?: Uint8Array;
}

export function mintHs256Token(secret: Uint8Array, sub: string, o: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...(o.claims ?? {}) })
    .setProtectedHeader({ alg: 'HS256', kid: o.kid ?? TEST_KID })
    .setSubject(sub)
    .setAudience(o.aud ?? TEST_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (o.ttlSeconds ?? 300))
    .setJti(randomUUID())
    .sign(o.secret ?? secret);
}
