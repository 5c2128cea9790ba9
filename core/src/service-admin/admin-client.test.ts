import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSyncScopeError } from '../errors/index.ts';
import { readReference } from '../testing/reference.ts';
import { fetchCurrentRules, fetchDiagnostics } from './admin-client.ts';
import { rulesVersionOfSlot } from './admin-schemas.ts';

const TOKEN = 'admin-test-token-0123456789';

/** Serves capture files as the service answered them, behind its bearer token. */
let served: Record<string, { status: number; body: string }> = {};
let seen: { method?: string; body?: string; authorization?: string } = {};
let server: Server;
let target: { name: string; adminUrl: string; adminToken: string };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen = { method: req.method, body, authorization: req.headers.authorization };
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"PSYNC_S2106","status":401}}');
        return;
      }
      const answer = served[req.url ?? ''] ?? { status: 404, body: '{}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  target = { name: 'ref', adminUrl: `http://127.0.0.1:${port}`, adminToken: TOKEN };
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const serveDiagnostics = (file: string) => {
  served = { '/api/admin/v1/diagnostics': { status: 200, body: readReference(file) } };
};

describe('fetchDiagnostics against the service 1.25 captures', () => {
  it('reads the idle service: version 1 replicated, lag and last checkpoint', async () => {
    serveDiagnostics('admin-diagnostics.json');
    const d = await fetchDiagnostics(target);
    expect(seen).toEqual({ method: 'POST', body: '{}', authorization: `Bearer ${TOKEN}` });
    expect(d.connections[0]).toMatchObject({ id: 'default', connected: true });
    const [active] = d.active_sync_rules?.connections ?? [];
    expect(active).toMatchObject({
      slot_name: 'powersync_1_4c2e',
      initial_replication_done: true,
      last_checkpoint_ts: '2026-11-25T07:36:23.461Z',
      replication_lag_bytes: 0,
      wal_status: 'reserved'
    });
    expect(active?.tables.map((t) => t.name)).toEqual(['records', 'categories', 'workspace_memberships']);
    expect(d.deploying_sync_rules).toBeUndefined();
  });

  // Each state the service passed through during a redeploy: which version serves, which reprocesses.
  const states = [
    { file: 'redeploy-diagnostics-1.json', active: 1, deploying: null, done: null, checkpoint: false },
    { file: 'redeploy-diagnostics-2.json', active: 1, deploying: 2, done: false, checkpoint: false },
    { file: 'redeploy-diagnostics-3.json', active: 1, deploying: 2, done: false, checkpoint: false },
    { file: 'redeploy-diagnostics-4.json', active: 1, deploying: 2, done: false, checkpoint: false },
    { file: 'redeploy-diagnostics-5.json', active: 1, deploying: 2, done: false, checkpoint: true },
    { file: 'redeploy-diagnostics-6.json', active: 1, deploying: 2, done: true, checkpoint: true },
    { file: 'redeploy-diagnostics-7.json', active: 2, deploying: null, done: null, checkpoint: false }
  ];
  it.each(states)('$file: active version $active, deploying $deploying', async (state) => {
    serveDiagnostics(state.file);
    const d = await fetchDiagnostics(target);
    const active = d.active_sync_rules?.connections[0];
    expect(rulesVersionOfSlot(active?.slot_name)).toBe(state.active);
    expect(active?.initial_replication_done).toBe(true);
    const deploying = d.deploying_sync_rules?.connections[0];
    expect(rulesVersionOfSlot(deploying?.slot_name)).toBe(state.deploying);
    expect(deploying?.initial_replication_done ?? null).toBe(state.done);
    expect(deploying ? deploying.last_checkpoint_ts !== undefined : false).toBe(state.checkpoint);
  });
});

describe('fetchCurrentRules against the service 1.25 captures', () => {
  it.each([
    { file: 'rules-current.json', current: 'powersync_1_0e83', next: null },
    { file: 'rules-current-during-redeploy.json', current: 'powersync_1_0e83', next: 'powersync_2_b809' },
    { file: 'rules-current-after-redeploy.json', current: 'powersync_2_b809', next: null }
  ])('$file: current $current, next $next', async ({ file, current, next }) => {
    served = { '/api/sync-rules/v1/current': { status: 200, body: readReference(file) } };
    const rules = await fetchCurrentRules(target);
    expect(seen.method).toBe('GET');
    expect(rules.current?.slot_name).toBe(current);
    expect(rules.current?.content).toContain('bucket_definitions:');
    expect(rules.next?.slot_name ?? null).toBe(next);
  });
});

describe('admin API failures are SYNCSCOPE_E_ADMIN_API without the token', () => {
  const failure = async (run: () => Promise<unknown>) => {
    const error = await run().then(
      () => null,
      (e: unknown) => e
    );
    expect(isSyncScopeError(error) && error.code).toBe('SYNCSCOPE_E_ADMIN_API');
    expect((error as Error).message).not.toContain(TOKEN);
    return (error as Error).message;
  };

  it('a refused token says to use one from api.tokens', async () => {
    serveDiagnostics('admin-diagnostics.json');
    expect(await failure(() => fetchDiagnostics({ ...target, adminToken: 'wrong' }))).toMatch(
      /refused the admin token \(HTTP 401\).*api\.tokens/
    );
  });

  it('an answer of another shape names the field', async () => {
    served = { '/api/sync-rules/v1/current': { status: 200, body: readReference('rules-validate-ok.json') } };
    expect(await failure(() => fetchCurrentRules(target))).toMatch(/unexpected shape \(data/);
  });

  it('the service refusing the call (422) is passed on with its body', async () => {
    served = {
      '/api/admin/v1/diagnostics': { status: 422, body: readReference('rules-deploy-with-config-path.json') }
    };
    expect(await failure(() => fetchDiagnostics(target))).toMatch(/HTTP 422.*PSYNC_S4105/);
  });

  it('a target without an admin API says which keys to set', async () => {
    expect(await failure(() => fetchDiagnostics({ name: 'bare' }))).toMatch(/admin_url and admin_token/);
  });

  it('nothing listening: the address and what to check', async () => {
    expect(await failure(() => fetchDiagnostics({ ...target, adminUrl: 'http://127.0.0.1:1' }))).toMatch(
      /failed: .*Check admin_url/
    );
  });
});
