import { randomUUID } from 'node:crypto';
import { badJwtMatrix, generateTrustedKey, startJwksHost } from '@syncscope/core/testing/bad-jwt-matrix';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../seed/index.ts';
import {
  APP_AUDIENCE,
  type DemoHarness,
  PROBE_AUDIENCE,
  startDemoHarness
} from '../testing/demo-backend-harness.ts';

interface Answer {
  status: number;
  code?: string;
}

describe('the bad-JWT matrix against the demo backend', async () => {
  const attacker = await generateTrustedKey('attacker', 'RS256', { jwkAlg: true });
  const attackerHost = await startJwksHost({ keys: [attacker.publicJwk] });
  let h: DemoHarness;
  beforeAll(async () => {
    h = await startDemoHarness('demo_bad_jwt');
  });
  afterAll(async () => {
    await h?.close();
    await attackerHost.close();
  });

  const upload = async (token: string): Promise<Answer> => {
    const response = await fetch(`${h.backend.url}/api/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ batch: [] })
    });
    const body = (await response.json()) as { error?: { code?: string } };
    return { status: response.status, code: body.error?.code };
  };

  it('uploads with a genuine token only; every bad one is refused with SYNCSCOPE_E_AUTH_REQUIRED', async () => {
    const cases = await badJwtMatrix({
      trusted: { kid: h.key.kid, alg: 'RS256', privateKey: h.key.privateKey, publicJwk: h.key.publicJwk },
      audience: APP_AUDIENCE,
      sub: DEMO_USERS.alice.id,
      keyHostUrl: attackerHost.url,
      attacker
    });
    const wrong: string[] = [];
    for (const c of cases) {
      const want: Answer =
        c.expect === 'accepted' ? { status: 200 } : { status: 401, code: 'SYNCSCOPE_E_AUTH_REQUIRED' };
      const answer = await upload(c.token);
      const got = { status: answer.status, ...(want.code ? { code: answer.code } : {}) };
      if (JSON.stringify(got) !== JSON.stringify(want))
        wrong.push(`${c.name}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      // A token is never exchanged for a sync token: only a dev-login session is.
      const exchange = await fetch(`${h.backend.url}/api/powersync/token`, {
        headers: { Authorization: `Bearer ${c.token}` }
      });
      if (exchange.status !== 401) wrong.push(`${c.name}: exchanged for a sync token (${exchange.status})`);
    }
    expect(cases.length).toBeGreaterThan(25);
    expect(wrong).toEqual([]);
    expect(attackerHost.hits()).toBe(0);
  });

  it('refuses probe tokens (audience syncscope-probe) for uploads, whoever signed them', async () => {
    const now = Math.floor(Date.now() / 1000);
    const probeToken = (aud: string | string[], key: CryptoKey, kid: string) =>
      new SignJWT({ syncscope_probe: true })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(DEMO_USERS.alice.id)
        .setAudience(aud)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti(randomUUID())
        .sign(key);
    for (const token of [
      await probeToken(PROBE_AUDIENCE, h.key.privateKey, h.key.kid),
      await probeToken([APP_AUDIENCE, PROBE_AUDIENCE], h.key.privateKey, h.key.kid),
      await probeToken(PROBE_AUDIENCE, attacker.privateKey, attacker.kid)
    ]) {
      expect(await upload(token)).toEqual({ status: 401, code: 'SYNCSCOPE_E_AUTH_TOKEN_AUDIENCE' });
    }
  });
});
