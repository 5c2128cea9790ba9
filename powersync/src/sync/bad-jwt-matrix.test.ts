import {
  badJwtMatrix,
  generateTrustedKey,
  type Refusal,
  startJwksHost,
  type TrustedKey
} from '@syncscope/core/testing/bad-jwt-matrix';
import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

const AUDIENCE = 'powersync-dev';

/**
 * The service's answer to each refusal (powersync-service packages/service-core/src/auth: KeyStore.ts
 * and utils.ts mapJoseError): no key / bad signature / wrong algorithm / a failed or missing claim is
 * S2101, expired S2103, exp - iat over token_max_expiration S2104, aud missing or unexpected S2105.
 */
const CODES: Record<Refusal, string> = {
  signature: 'PSYNC_S2101',
  claims: 'PSYNC_S2101',
  expired: 'PSYNC_S2103',
  lifetime: 'PSYNC_S2104',
  audience: 'PSYNC_S2105'
};

const configJwk = (key: TrustedKey) => ({ ...key.publicJwk, kty: String(key.publicJwk.kty) });

interface Answer {
  status: number;
  code?: string;
}

describe('the bad-JWT matrix against the dev sync server', async () => {
  // Inline keys with and without `alg` (without it the algorithm family comes from kty, where alg
  // confusion lives), an EC key, and a key published at a jwks_uri as the embedded stack's app key is.
  const trusted = {
    inlineRsaWithAlg: await generateTrustedKey('inline-rsa-alg', 'RS256', { jwkAlg: true }),
    inlineRsa: await generateTrustedKey('inline-rsa', 'RS256', { jwkAlg: false }),
    inlineEc: await generateTrustedKey('inline-ec', 'ES256', { jwkAlg: false }),
    remoteRsa: await generateTrustedKey('remote-rsa', 'RS256', { jwkAlg: false })
  };
  const attacker = await generateTrustedKey('attacker', 'RS256', { jwkAlg: true });
  const attackerHost = await startJwksHost({ keys: [attacker.publicJwk] });
  const trustedHost = await startJwksHost({ keys: [trusted.remoteRsa.publicJwk] });
  let h: DevServerHarness;

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'bad_jwt',
      sourceSql: readReference('seed.sql'),
      rulesYaml: readReference('sync-rules.yaml'),
      clientAuth: {
        jwks_uri: `${trustedHost.url}/jwks.json`,
        jwks: { keys: [trusted.inlineRsaWithAlg, trusted.inlineRsa, trusted.inlineEc].map(configJwk) },
        audience: [AUDIENCE]
      }
    });
  });
  afterAll(async () => {
    await h?.close();
    await attackerHost.close();
    await trustedHost.close();
  });

  const streamAnswer = async (token: string): Promise<Answer> => {
    const { status, lines } = await readSyncStream(h.server.url, token, {}, () => true);
    return { status, code: (lines[0] as { error?: { code?: string } }).error?.code };
  };
  const writeCheckpointAnswer = async (token: string): Promise<Answer> => {
    const response = await fetch(`${h.server.url}/write-checkpoint2.json?client_id=matrix`, {
      headers: { Authorization: `Token ${token}` }
    });
    const body = (await response.json()) as { error?: { code?: string } };
    return { status: response.status, code: body.error?.code };
  };

  const mismatches = async (key: TrustedKey) => {
    const cases = await badJwtMatrix({
      trusted: key,
      audience: AUDIENCE,
      sub: 'u-alice',
      keyHostUrl: attackerHost.url,
      attacker
    });
    const wrong: string[] = [];
    for (const c of cases) {
      const want: Answer = c.expect === 'accepted' ? { status: 200 } : { status: 401, code: CODES[c.expect] };
      for (const [route, answer] of [
        ['stream', await streamAnswer(c.token)],
        ['write checkpoint', await writeCheckpointAnswer(c.token)]
      ] as const) {
        const got = { status: answer.status, ...(want.code ? { code: answer.code } : {}) };
        if (JSON.stringify(got) !== JSON.stringify(want))
          wrong.push(`${c.name} (${route}): want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    }
    return { wrong, count: cases.length };
  };

  for (const [label, key] of Object.entries(trusted)) {
    it(`answers every case with the service's status and code: ${label}`, async () => {
      const { wrong, count } = await mismatches(key);
      expect(count).toBeGreaterThan(25);
      expect(wrong).toEqual([]);
      // jku, x5u and jwk headers are never followed.
      expect(attackerHost.hits()).toBe(0);
    });
  }
});
