import { inspect } from 'node:util';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncScopeError } from '../../errors/index.ts';
import type { OpsDatabase } from '../../ops-db/ops-database.ts';
import { createTestAuditSink } from '../../testing/test-audit-sink.ts';
import type { ProbeTarget } from '../probe-types.ts';
import { hideOnPrint } from './hide-secrets.ts';
import { hideSigningKey, type MintedProbeToken } from './mint-probe-token.ts';

const HS_SECRET = new Uint8Array(Buffer.from('an-hs256-secret-of-at-least-32-bytes!!', 'utf8'));

function hsTarget(overrides: Partial<ProbeTarget> = {}): ProbeTarget {
  const target: ProbeTarget = {
    name: 'test',
    syncUrl: 'http://127.0.0.1:7001',
    adminUrl: 'http://127.0.0.1:7001',
    adminToken: 'admin-token-do-not-print-0123456789',
    sourceUrl: 'postgres://probe:db-password-do-not-print@127.0.0.1:5433/app',
    syncRulesYaml: 'bucket_definitions: {}',
    signing: hideSigningKey({ kind: 'hs256', kid: 'probe-hs', secret: HS_SECRET }),
    audience: 'syncscope-probe',
    ...overrides
  };
  return target;
}

async function privateJwk(alg: 'RS256' | 'ES256' | 'EdDSA') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { jwk: (await exportJWK(privateKey)) as Record<string, unknown>, publicKey };
}

describe('mintAuditedProbeToken: the token it signs', () => {
  let ops: OpsDatabase;
  let mintProbeToken: Awaited<ReturnType<typeof createTestAuditSink>>['mint'];
  beforeAll(async () => {
    ({ ops, mint: mintProbeToken } = await createTestAuditSink('mint_probe_token'));
  });
  afterAll(async () => {
    await ops?.close();
  });

  it('signs an HS256 token with kid, sub, aud, iat, exp, jti and syncscope_probe that jose verifies', async () => {
    const minted = await mintProbeToken(hsTarget({ issuer: 'syncscope' }), 'user-1', { tenant: 't1' });
    expect(decodeProtectedHeader(minted.token)).toEqual({ alg: 'HS256', kid: 'probe-hs', typ: 'JWT' });
    const { payload } = await jwtVerify(minted.token, HS_SECRET, {
      audience: 'syncscope-probe',
      issuer: 'syncscope'
    });
    expect(payload).toMatchObject({
      sub: 'user-1',
      aud: 'syncscope-probe',
      tenant: 't1',
      syncscope_probe: true
    });
    expect(payload.jti).toBe(minted.jti);
    expect(minted.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(240);
    expect(minted.expiresAt.getTime() - minted.issuedAt.getTime()).toBe(240_000);
    expect(minted).toMatchObject({ kid: 'probe-hs', audience: 'syncscope-probe' });
    expect(Math.abs(minted.issuedAt.getTime() - Date.now())).toBeLessThan(2_000);
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)(
    'signs with a %s private JWK, alg from the key',
    async (alg) => {
      const { jwk, publicKey } = await privateJwk(alg);
      const target = hsTarget({
        signing: hideSigningKey({ kind: 'private-jwk', kid: `probe-${alg}`, alg, jwk })
      });
      const minted = await mintProbeToken(target, 'user-2', undefined, 60);
      expect(decodeProtectedHeader(minted.token)).toMatchObject({ alg, kid: `probe-${alg}` });
      const { payload } = await jwtVerify(minted.token, publicKey, { audience: 'syncscope-probe' });
      expect(payload.sub).toBe('user-2');
      expect(payload.exp! - payload.iat!).toBe(60);
      expect(payload.iss).toBeUndefined();
    }
  );

  it('adds the target extra claims, and the probe claims win over them', async () => {
    const minted = await mintProbeToken(hsTarget({ extraClaims: { tenant: 'a', role: 'r' } }), 'u', {
      tenant: 'b'
    });
    const { payload } = await jwtVerify(minted.token, HS_SECRET);
    expect(payload).toMatchObject({ tenant: 'b', role: 'r' });
  });

  it('refuses a lifetime above 300 s (and below 1 s)', async () => {
    await expect(mintProbeToken(hsTarget(), 'u', undefined, 301)).rejects.toThrow(
      'A probe token lives between 1 and 300 seconds; 301 was asked for. Use a shorter lifetime (the default is 240).'
    );
    await expect(mintProbeToken(hsTarget(), 'u', undefined, 0)).rejects.toMatchObject({
      code: 'SYNCSCOPE_E_PROBE_TOKEN_INVALID'
    });
    await expect(mintProbeToken(hsTarget(), 'u', undefined, 300)).resolves.toBeDefined();
  });

  it.each(['sub', 'aud', 'exp', 'iat', 'jti', 'iss', 'syncscope_probe'])(
    'refuses claims that set %s',
    async (claim) => {
      const error = await mintProbeToken(hsTarget(), 'u', { [claim]: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SyncScopeError);
      expect((error as SyncScopeError).code).toBe('SYNCSCOPE_E_PROBE_TOKEN_INVALID');
      expect((error as SyncScopeError).message).toBe(
        `The probe claims may not set ${claim}: the probe sets sub, aud, iss, iat, exp, jti, syncscope_probe itself (sub is the probed user, aud the target's audience). Remove it.`
      );
    }
  );

  it('refuses target extra claims that set reserved claims, naming the target', async () => {
    await expect(mintProbeToken(hsTarget({ extraClaims: { aud: 'x', sub: 'y' } }), 'u')).rejects.toThrow(
      `Target "test"'s extra_claims may not set aud, sub`
    );
  });

  it('refuses claims that are not an object', async () => {
    await expect(mintProbeToken(hsTarget(), 'u', [1] as unknown as Record<string, unknown>)).rejects.toThrow(
      'Probe claims must be a JSON object'
    );
  });

  it('no secret shows in JSON.stringify or util.inspect of the key, a target holding it, or the minted token', async () => {
    const { jwk } = await privateJwk('RS256');
    const rsaKey = hideSigningKey({ kind: 'private-jwk' as const, kid: 'k-rsa', alg: 'RS256' as const, jwk });
    const hsKey = hsTarget().signing;
    const minted: MintedProbeToken = await mintProbeToken(hsTarget(), 'u');
    const secrets = [
      Buffer.from(HS_SECRET).toString('utf8'),
      Buffer.from(HS_SECRET).toString('base64url'),
      String(jwk.d),
      String(jwk.p),
      minted.token,
      minted.token.split('.')[2]!
    ];
    const printed = [
      JSON.stringify(hsKey),
      inspect(hsKey),
      JSON.stringify(rsaKey),
      inspect(rsaKey, { depth: 10 }),
      JSON.stringify({ target: { signing: rsaKey } }),
      inspect({ nested: { signing: hsKey } }, { depth: 10 }),
      JSON.stringify(minted),
      inspect(minted),
      `${minted.kid} ${minted.jti}`
    ];
    for (const text of printed) for (const secret of secrets) expect(text).not.toContain(secret);
    expect(JSON.stringify(hsKey)).toBe('"[ProbeSigningKey kid=probe-hs alg=HS256]"');
    expect(inspect(rsaKey)).toBe('[ProbeSigningKey kid=k-rsa alg=RS256]');
    expect(JSON.parse(JSON.stringify(minted))).toMatchObject({
      token: '[redacted]',
      kid: 'probe-hs',
      jti: minted.jti
    });
    // The fields are still there for code that needs them.
    expect(minted.token.split('.')).toHaveLength(3);
    expect(await importJWK(rsaKey.jwk as JWK, 'RS256')).toBeDefined();
  });

  it('hideOnPrint leaves own keys unchanged', () => {
    const value = hideOnPrint({ a: 1, secret: 's3cret' }, () => 'hidden');
    expect(Object.keys(value)).toEqual(['a', 'secret']);
    expect(JSON.stringify({ value })).toBe('{"value":"hidden"}');
  });
});
