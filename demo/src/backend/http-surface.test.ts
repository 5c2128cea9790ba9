import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, loadOrCreateSigningKey, type SigningKey } from '@syncscope/core';
import { SignJWT } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../seed/index.ts';
import { workspaceId } from '../seed/seed-plan.ts';
import {
  APP_AUDIENCE,
  type DemoHarness,
  PROBE_AUDIENCE,
  startDemoHarness
} from '../testing/demo-backend-harness.ts';
import { startDemoBackend } from './index.ts';

const newKey = async (kid: string) =>
  loadOrCreateSigningKey(await mkdtemp(path.join(os.tmpdir(), 'syncscope-keys-')), kid);

async function signToken(
  key: SigningKey,
  claims: { sub?: string; aud?: string; iat?: number; exp?: number }
) {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setJti(randomUUID());
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  return jwt
    .setAudience(claims.aud ?? APP_AUDIENCE)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime(claims.exp ?? now + 300)
    .sign(key.privateKey);
}

describe('the demo backend over HTTP', () => {
  let h: DemoHarness;
  const logLines: string[] = [];
  beforeAll(async () => {
    h = await startDemoHarness('demo_http_surface', {
      tokenTtlSeconds: 60,
      logger: pino({ level: 'trace' }, { write: (line: string) => logLines.push(line) })
    });
  });
  afterAll(async () => h?.close());

  const upload = (headers: Record<string, string>, batch: unknown[] = []) =>
    fetch(`${h.backend.url}/api/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ batch })
    });

  it('dev login sets an httpOnly SameSite=Lax cookie that alone signs the browser in', async () => {
    const response = await fetch(`${h.backend.url}/api/dev/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: DEMO_USERS.alice.email })
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user).toEqual({ id: DEMO_USERS.alice.id, email: DEMO_USERS.alice.email });
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^demo_session=${body.session};`));
    expect(cookie.split(/;\s*/).slice(1)).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/', expect.stringMatching(/^Max-Age=\d+$/)])
    );
    const asBrowser = { Cookie: `other=1; demo_session=${body.session}` };
    const token = await fetch(`${h.backend.url}/api/powersync/token`, { headers: asBrowser });
    expect(token.status).toBe(200);
    const written = await upload(asBrowser, [
      {
        op: 'PUT',
        table: 'records',
        id: 'by-cookie',
        data: { workspace_id: workspaceId(1), title: 'cookie' }
      }
    ]);
    expect((await written.json()).results[0]).toMatchObject({ ok: true });
  });

  it('issues tokens that live exactly tokenTtlSeconds, with expires_at at exp', async () => {
    const session = await h.login(DEMO_USERS.bob.email);
    const response = await fetch(`${h.backend.url}/api/powersync/token`, {
      headers: { Authorization: `Bearer ${session}` }
    });
    const { token, expires_at } = await response.json();
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(60);
    expect(Math.abs(payload.iat - Date.now() / 1000)).toBeLessThan(30);
    expect(new Date(expires_at).getTime()).toBe(payload.exp * 1000);
    expect(payload).toMatchObject({ sub: DEMO_USERS.bob.id, aud: APP_AUDIENCE });
  });

  it('refuses uploads with anything but a live session or a valid app token', async () => {
    const other = await newKey('test-app'); // same kid, different key: a forgery
    const now = Math.floor(Date.now() / 1000);
    const alice = DEMO_USERS.alice.id;
    const cases: [string, Record<string, string>, string][] = [
      ['no credential', {}, 'SYNCSCOPE_E_AUTH_REQUIRED'],
      ['unknown session', { Authorization: 'Bearer not-a-session' }, 'SYNCSCOPE_E_AUTH_REQUIRED'],
      ['unknown cookie', { Cookie: 'demo_session=not-a-session' }, 'SYNCSCOPE_E_AUTH_REQUIRED'],
      [
        'another audience',
        { Authorization: `Bearer ${await signToken(h.key, { sub: alice, aud: 'some-other-api' })}` },
        'SYNCSCOPE_E_AUTH_REQUIRED'
      ],
      [
        'expired',
        {
          Authorization: `Bearer ${await signToken(h.key, { sub: alice, iat: now - 600, exp: now - 300 })}`
        },
        'SYNCSCOPE_E_AUTH_REQUIRED'
      ],
      [
        'forged',
        { Authorization: `Bearer ${await signToken(other, { sub: alice })}` },
        'SYNCSCOPE_E_AUTH_REQUIRED'
      ],
      ['no subject', { Authorization: `Bearer ${await signToken(h.key, {})}` }, 'SYNCSCOPE_E_AUTH_REQUIRED'],
      [
        'probe audience',
        { Authorization: `Bearer ${await signToken(h.key, { sub: alice, aud: PROBE_AUDIENCE })}` },
        'SYNCSCOPE_E_AUTH_TOKEN_AUDIENCE'
      ]
    ];
    for (const [label, headers, code] of cases) {
      const response = await upload(headers, [
        {
          op: 'PUT',
          table: 'records',
          id: `refused-${label.replace(/ /g, '-')}`,
          data: { workspace_id: workspaceId(1), title: 'x' }
        }
      ]);
      expect([label, response.status, (await response.json()).error.code]).toEqual([label, 401, code]);
    }
    const written = await h.pool.query("SELECT id FROM records WHERE id LIKE 'refused-%'");
    expect(written.rows).toEqual([]);
    // A valid app token for the same user is accepted.
    const valid = await upload({ Authorization: `Bearer ${await signToken(h.key, { sub: alice })}` });
    expect(valid.status).toBe(200);
  });

  it('answers health, unknown routes and bad login bodies with the JSON shapes it documents', async () => {
    const health = await fetch(`${h.backend.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { ok: true }]);
    const missing = await fetch(`${h.backend.url}/api/nope?x=1`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'SYNCSCOPE_E_REQUEST_INVALID', message: 'No route GET /api/nope.' }
    });
    for (const body of ['{"email": 42}', '{oops']) {
      const login = await fetch(`${h.backend.url}/api/dev/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body
      });
      expect(login.status).toBe(400);
      expect((await login.json()).error).toMatchObject({
        code: 'SYNCSCOPE_E_REQUEST_INVALID',
        message: expect.any(String)
      });
    }
  });

  it('never writes a session id or a token into its log', async () => {
    logLines.length = 0;
    const session = await h.login(DEMO_USERS.alice.email);
    const { token } = await (
      await fetch(`${h.backend.url}/api/powersync/token`, { headers: { Authorization: `Bearer ${session}` } })
    ).json();
    await upload({ Authorization: `Bearer ${token}` }, [
      {
        op: 'PUT',
        table: 'records',
        id: 'log-check',
        data: { workspace_id: workspaceId(4), title: 'secret title' }
      }
    ]);
    await upload({ Authorization: `Bearer ${session}x` });
    const log = logLines.join('');
    expect(log).toContain('demo login');
    expect(log).toContain('upload operations rejected');
    expect(log).toContain('DEMO_E_FORBIDDEN');
    expect(log).not.toContain(session);
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split('.')[2]);
    expect(log).not.toContain('secret title');
  });
});

describe('the demo backend without its database', () => {
  it('reports itself unhealthy and upload operations as retryable', async () => {
    const key = await newKey('test-app');
    const deadPort = await findFreePort();
    const backend = await startDemoBackend({
      host: '127.0.0.1',
      port: 0,
      appDatabaseUrl: `postgres://postgres:postgres@127.0.0.1:${deadPort}/app`,
      signingKey: key,
      audience: APP_AUDIENCE,
      probeAudience: PROBE_AUDIENCE,
      powersyncUrl: 'http://127.0.0.1:7001',
      demoMode: true,
      logger: pino({ level: 'silent' })
    });
    try {
      const health = await fetch(`${backend.url}/healthz`);
      expect(health.status).toBe(503);
      expect((await health.json()).error.code).toBe('SYNCSCOPE_E_PG_UNREACHABLE');
      const response = await fetch(`${backend.url}/api/upload`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${await signToken(key, { sub: DEMO_USERS.alice.id })}`
        },
        body: JSON.stringify({
          batch: [
            {
              op: 'PUT',
              table: 'records',
              id: 'offline',
              data: { workspace_id: workspaceId(1), title: 't' }
            },
            { op: 'PUT', table: 'nope', id: 'offline' }
          ]
        })
      });
      expect(response.status).toBe(200);
      const { results } = await response.json();
      expect(results[0]).toMatchObject({ ok: false, retryable: true, code: 'DEMO_E_TRANSIENT' });
      // Validation needs no database: a bad op is still final.
      expect(results[1]).toMatchObject({ ok: false, retryable: false, code: 'DEMO_E_UNKNOWN_TABLE' });
    } finally {
      await backend.close();
    }
  });
});
