import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../seed/index.ts';
import {
  APP_AUDIENCE,
  type DemoHarness,
  PROBE_AUDIENCE,
  startDemoHarness
} from '../testing/demo-backend-harness.ts';

describe('sync tokens and the JWKS', () => {
  let h: DemoHarness;
  beforeAll(async () => {
    h = await startDemoHarness('demo_token');
  });
  afterAll(async () => h?.close());

  it('issues a short-lived JWT for a signed-in user that verifies against the published JWKS', async () => {
    const session = await h.login(DEMO_USERS.alice.email);
    const response = await fetch(`${h.backend.url}/api/powersync/token`, {
      headers: { Authorization: `Bearer ${session}` }
    });
    expect(response.status).toBe(200);
    const { token, powersync_url } = (await response.json()) as { token: string; powersync_url: string };
    expect(powersync_url).toBe('http://127.0.0.1:7001');
    const jwks = createRemoteJWKSet(new URL(`${h.backend.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { audience: APP_AUDIENCE });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: 'test-app' });
    expect(payload.sub).toBe(DEMO_USERS.alice.id);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(300);
    // It expires: verified as of just after exp, it is refused.
    await expect(
      jwtVerify(token, jwks, { audience: APP_AUDIENCE, currentDate: new Date((payload.exp! + 1) * 1000) })
    ).rejects.toThrow(/exp/);
    // The JWKS publishes only the public half.
    const published = await (await fetch(`${h.backend.url}/.well-known/jwks.json`)).json();
    expect(Object.keys(published.keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('refuses without a session, and for an unknown email', async () => {
    expect((await fetch(`${h.backend.url}/api/powersync/token`)).status).toBe(401);
    const unknown = await fetch(`${h.backend.url}/api/dev/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.com' })
    });
    expect(unknown.status).toBe(401);
    expect((await unknown.json()).error.message).toContain('nobody@example.com');
  });

  it('accepts its own sync token for uploads, but refuses a SyncScope probe token for the same user', async () => {
    const session = await h.login(DEMO_USERS.bob.email);
    const { token } = await (
      await fetch(`${h.backend.url}/api/powersync/token`, { headers: { Authorization: `Bearer ${session}` } })
    ).json();
    const upload = (bearer: string) =>
      fetch(`${h.backend.url}/api/upload`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ batch: [] })
      });
    expect((await upload(token)).status).toBe(200);
    const now = Math.floor(Date.now() / 1000);
    const probeToken = await new SignJWT({ syncscope_probe: true })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-app' })
      .setSubject(DEMO_USERS.bob.id)
      .setAudience(PROBE_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti(randomUUID())
      .sign(h.key.privateKey);
    expect(decodeProtectedHeader(probeToken).kid).toBe('test-app');
    const refused = await upload(probeToken);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('SYNCSCOPE_E_AUTH_TOKEN_AUDIENCE');
  });
});

describe('outside demo mode', () => {
  it('has no dev login', async () => {
    const h = await startDemoHarness('demo_token_prod', { demoMode: false });
    const response = await fetch(`${h.backend.url}/api/dev/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: DEMO_USERS.alice.email })
    });
    expect(response.status).toBe(404);
    await h.close();
  });
});
