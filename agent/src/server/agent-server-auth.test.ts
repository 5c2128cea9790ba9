import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { createTestAuditSink } from '@syncscope/core/testing/test-audit-sink';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { targetsSource } from '../probe/resolve-target.ts';
import { type AgentServer, startAgentServer } from './agent-server.ts';

const TOKEN = 'agent-token-0123456789-abcdef';
const ALICE = 'u-alice-4b1d';

/** A request with any Host header (fetch does not let a caller set one; a rebinding browser sends its own). */
function request(
  url: string,
  options: { method?: string; path: string; host?: string; token?: string; body?: unknown }
): Promise<{
  status: number;
  json: () => { error?: { code: string; message: string } } & Record<string, unknown>;
}> {
  const { port } = new URL(url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: {
          host: options.host ?? `127.0.0.1:${port}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {})
        }
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(text) }));
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The attack from the issue: `POST /probes {"target":"demo","user":"<alice>"}` with no token, or from a
 * DNS-rebinding page (`Host: evil.example`), answered alice's full report with nothing audited or stored.
 */
describe("the agent's HTTP API refuses impersonation without a token, a proper Host, actor and reason", () => {
  let dir: string;
  let file: string;
  let ops: OpsDatabase;
  let agent: AgentServer;
  const env = { HS: Buffer.alloc(32, 1).toString('base64url') };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-agent-auth-'));
    await writeFile(
      path.join(dir, 'rules.yaml'),
      'bucket_definitions:\n  all:\n    data:\n      - SELECT * FROM records\n'
    );
    file = path.join(dir, 'targets.yaml');
    // A sync service that is not there: the probe still mints (audited) and stores its error run.
    await writeFile(
      file,
      `targets:
  demo:
    sync_url: http://127.0.0.1:1
    source_url: postgres://probe@127.0.0.1:1/app
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env HS }
    audience: syncscope-probe
`
    );
    ops = (await createTestAuditSink('agent_server_auth')).ops;
    agent = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      targets: targetsSource(file, env),
      logger: pino({ level: 'silent' }),
      scrubber: new SecretScrubber(),
      token: TOKEN,
      allowedHosts: ['syncscope-agent'],
      ops
    });
  });
  afterAll(async () => {
    await agent?.close();
    await ops?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const minted = async () =>
    (
      await ops.pool.query(
        "SELECT actor, reason, subject_user, details FROM syncscope.audit_log WHERE action = 'probe.token_minted'"
      )
    ).rows;
  const runs = async () =>
    (await ops.pool.query('SELECT id, user_id, requested_by FROM syncscope.probe_runs')).rows;
  const probe = { target: 'demo', user: ALICE, actor: 'ops@example.com', reason: 'ticket 7' };

  it('refuses to start without a token: there is no unauthenticated mode', async () => {
    for (const token of [undefined, '']) {
      await expect(
        startAgentServer({
          host: '127.0.0.1',
          port: 0,
          targets: targetsSource(file, env),
          logger: pino({ level: 'silent' }),
          scrubber: new SecretScrubber(),
          token,
          ops
        })
      ).rejects.toMatchObject({ code: 'SYNCSCOPE_E_CONFIG_INVALID' });
    }
  });

  it('no token or a wrong one: 401, nothing minted', async () => {
    for (const token of [undefined, 'wrong-token-0123456789-abcdef']) {
      const res = await request(agent.url, { method: 'POST', path: '/probes', token, body: probe });
      expect(res.status).toBe(401);
      expect(res.json().error?.code).toBe('SYNCSCOPE_E_AUTH_REQUIRED');
    }
    expect(await minted()).toEqual([]);
  });

  it('a foreign Host (DNS rebinding) is refused on every route, even with the token', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${new URL(agent.url).port}`,
      'localhost:1',
      '127.0.0.1'
    ]) {
      const res = await request(agent.url, {
        method: 'POST',
        path: '/probes',
        host,
        token: TOKEN,
        body: probe
      });
      expect(res.status).toBe(421);
      expect(res.json().error?.code).toBe('SYNCSCOPE_E_AGENT_HOST_REFUSED');
    }
    for (const route of ['/metrics', '/healthz', '/.well-known/jwks.json']) {
      expect((await request(agent.url, { path: route, host: 'evil.example' })).status).toBe(421);
    }
    expect(await minted()).toEqual([]);
    // The names it does answer to: its address, localhost with its port, and an allowed name (compose).
    const port = new URL(agent.url).port;
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'syncscope-agent:9464',
      'SyncScope-Agent'
    ])
      expect((await request(agent.url, { path: '/healthz', host })).status).toBe(200);
  });

  it('without actor or reason (or with empty or oversized ones): 400, nothing minted', async () => {
    for (const body of [
      { target: 'demo', user: ALICE },
      { target: 'demo', user: ALICE, actor: 'ops@example.com' },
      { target: 'demo', user: ALICE, reason: 'ticket 7' },
      { ...probe, actor: '  ' },
      { ...probe, reason: 'x'.repeat(501) }
    ]) {
      const res = await request(agent.url, { method: 'POST', path: '/probes', token: TOKEN, body });
      expect(res.status).toBe(400);
      expect(res.json().error?.code).toBe('SYNCSCOPE_E_REQUEST_INVALID');
    }
    expect(await minted()).toEqual([]);
  });

  it('a proper request is audited before its token is minted, and its run is stored and named', async () => {
    const res = await request(agent.url, { method: 'POST', path: '/probes', token: TOKEN, body: probe });
    expect(res.status).toBe(200);
    const report = res.json() as { runId: string; userId: string; token: { jti: string } };
    expect(report.userId).toBe(ALICE);
    expect(report.token.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(await minted()).toEqual([
      expect.objectContaining({
        actor: 'ops@example.com',
        reason: 'ticket 7',
        subject_user: ALICE,
        details: expect.objectContaining({ jti: report.token.jti, purpose: 'read' })
      })
    ]);
    expect(await runs()).toEqual([{ id: report.runId, user_id: ALICE, requested_by: 'ops@example.com' }]);
  });

  it('without an ops database to audit in, POST /probes refuses with a code', async () => {
    const bare = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      targets: targetsSource(file, env),
      logger: pino({ level: 'silent' }),
      scrubber: new SecretScrubber(),
      token: TOKEN
    });
    try {
      const res = await request(bare.url, { method: 'POST', path: '/probes', token: TOKEN, body: probe });
      expect(res.status).toBe(503);
      expect(res.json().error?.code).toBe('SYNCSCOPE_E_PROBE_AUDIT_UNAVAILABLE');
    } finally {
      await bare.close();
    }
  });
});
