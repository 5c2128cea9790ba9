import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@syncscope/core';
import type { ProbeReport } from '@syncscope/core/probe/probe-types';
import { opsDatabaseUrl } from '@syncscope/core/probe/targets/demo-target';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { freeStackPorts } from '@syncscope/demo/stack/free-stack-ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/;
const AGENT_TOKEN = 'agent-token-for-the-e2e-test-0123456789';

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The compiled CLI, as the package bin and the agent image run it (scripts/build.mjs writes it). */
const COMPILED_CLI = 'agent/dist/syncscope.mjs';

/** A process from the sources through tsx, or with `compiled`, plain node on compiled JavaScript. */
function start(args: string[], env: Record<string, string>, { compiled = false } = {}): Proc {
  let output = '';
  const child = spawn(process.execPath, [...(compiled ? [] : ['--import', 'tsx']), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(proc: Proc, text: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}":\n${proc.output()}`);
    if (proc.child.exitCode !== null) throw new Error(`exited early:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the CLI to completion: stdout, stderr (logs at trace level go there) and the exit code. From the
 * sources through tsx, or with `compiled`, the compiled CLI with plain node.
 */
function cli(args: string[], env: Record<string, string>, { compiled = false } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    let stdout = '';
    let stderr = '';
    const entry = compiled ? [COMPILED_CLI] : ['--import', 'tsx', 'agent/src/cli.ts'];
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('syncscope against the embedded stack (npm start)', () => {
  let home: string;
  let stack: Proc;
  let env: Record<string, string>;
  let secrets: Record<string, string>;
  const alice = DEMO_USERS.alice.id;

  /** Every line printed or logged holds none of the stack's secrets and no JWT. */
  const expectNoSecrets = (text: string) => {
    for (const [what, secret] of Object.entries(secrets)) {
      expect(text.includes(secret), `${what} appears in the output`).toBe(false);
    }
    expect(text).not.toMatch(JWT);
  };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-e2e-home-'));
    env = {
      SYNCSCOPE_HOME: home,
      ...(await freeStackPorts()),
      SYNCSCOPE_CONSOLE: 'off',
      SYNCSCOPE_SEED_RECORDS: '100',
      SYNCSCOPE_LOG_LEVEL: 'trace'
    };
    // The compiled CLI from these sources (a second or so), for the tests that run it.
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO, stdio: 'pipe' });
    stack = start(['demo/src/stack/main.ts'], { ...env, SYNCSCOPE_LOG_LEVEL: 'warn' });
    await waitFor(stack, 'Press Ctrl-C');
    const jwk = JSON.parse(
      readFileSync(path.join(home, 'keys', 'syncscope-probe-1.private.jwk.json'), 'utf8')
    );
    secrets = {
      'the probe key (d)': jwk.d,
      'the probe key (p)': jwk.p,
      'the probe key (q)': jwk.q,
      'the admin token': readFileSync(path.join(home, 'secrets', 'sync-api-token'), 'utf8').trim(),
      'the probe role DB password': readFileSync(
        path.join(home, 'secrets', 'probe-db-password'),
        'utf8'
      ).trim(),
      'the agent token': AGENT_TOKEN,
      "the stack's agent token": readFileSync(path.join(home, 'secrets', 'agent-token'), 'utf8').trim(),
      'the write probe upload token': readFileSync(
        path.join(home, 'secrets', 'write-probe-upload-token'),
        'utf8'
      ).trim()
    };
  }, 120_000);

  afterAll(async () => {
    if (stack && stack.child.exitCode === null) {
      stack.child.kill('SIGINT');
      await stack.exited;
    }
    await rm(home, { recursive: true, force: true });
  });

  it("the stack's own agent needs its generated token (0600 file): the issue's unauthenticated probe is refused", async () => {
    const url = `http://127.0.0.1:${env.SYNCSCOPE_AGENT_METRICS_PORT}`;
    const tokenFile = path.join(home, 'secrets', 'agent-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const attack = await fetch(`${url}/probes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'demo', user: alice })
    });
    expect(attack.status).toBe(401);
    const res = await fetch(`${url}/probes`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`
      },
      body: JSON.stringify({ target: 'demo', user: alice, actor: 'e2e@example.com', reason: 'e2e test' })
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as ProbeReport & { runId: string };
    expect(report.verdict).toBe('consistent');
    expect(report.runId).toMatch(/^[0-9a-f-]{36}$/);
    expectNoSecrets(JSON.stringify(report));
  });

  it('probe --target demo needs no setup: consistent, exit 0, and no secret in any line printed or logged', async () => {
    // The stack's ready message shows the command.
    expect(stack.output()).toContain(`npm run syncscope -- probe --target demo --user ${alice}`);
    const human = await cli(['probe', '--target', 'demo', '--user', alice], env);
    expect(human.stderr.split('\n').filter((l) => l.startsWith('SYNCSCOPE_E_'))).toEqual([]);
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^Consistent: \d+ rows in 2 buckets match the source/);
    expect(human.stdout).toContain('Buckets: 2 expected, 2 synced');
    // The demo target reads the source as the least-privilege role: no warning about writing or reading
    // beyond the rules (it would name `syncscope source-role`).
    expect(human.stderr).not.toContain('source_url role can');
    // Logs went to stderr at trace level, including the minted tokens' ids (never the tokens).
    expect(human.stderr).toContain('"msg":"probe token minted"');
    expectNoSecrets(human.stdout + human.stderr);

    const json = await cli(['probe', '--target', 'demo', '--user', alice, '--json'], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as ProbeReport;
    expect(report).toMatchObject({ version: 2, target: 'demo', userId: alice, verdict: 'consistent' });
    expect(report.token).toMatchObject({ kid: 'syncscope-probe-1', audience: 'syncscope-probe' });
    expectNoSecrets(json.stdout + json.stderr);
  });

  it('a row the service omits is a mismatch: exit 1 with the difference explained', async () => {
    const source = `postgres://postgres:${encodeURIComponent(readFileSync(path.join(home, 'secrets', 'pg-superuser-password'), 'utf8').trim())}@127.0.0.1:${env.SYNCSCOPE_PG_PORT}/app`;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: source });
    await client.connect();
    const { rows } = await client.query<{ id: string }>(
      `SELECT r.id FROM records r JOIN workspace_memberships m ON m.workspace_id = r.workspace_id
       WHERE m.user_id = $1 ORDER BY r.id LIMIT 1`,
      [alice]
    );
    await client.end();
    const faults = (body: unknown) =>
      fetch(`http://127.0.0.1:${env.SYNCSCOPE_SYNC_PORT}/api/dev/v1/faults`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${secrets['the admin token']}`,
          'content-type': 'application/json'
        },
        body: JSON.stringify(body)
      });
    expect((await faults({ omitRows: [{ table: 'records', id: rows[0]!.id }] })).status).toBe(200);
    try {
      const r = await cli(['probe', '--target', 'demo', '--user', alice], env);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout.split('\n')[0]).toMatch(/^Mismatch: /);
      expect(r.stdout).toContain(`missing   records/${rows[0]!.id}`);
      expectNoSecrets(r.stdout + r.stderr);

      // --mode light: the light probe finds it, a full probe confirms it; the text names the full run.
      const light = await cli(['probe', '--target', 'demo', '--user', alice, '--mode', 'light'], env);
      expect(light.code, light.stdout + light.stderr).toBe(1);
      expect(light.stdout.split('\n')[0]).toMatch(
        /^Mismatch: .*confirmed by a full probe with the real client/
      );
      expect(light.stdout).toMatch(/^mode light · confirmed by full probe [0-9a-f-]{36}$/m);
      expect(light.stdout).toContain(`missing   records/${rows[0]!.id}`);
      expectNoSecrets(light.stdout + light.stderr);
    } finally {
      await faults({});
    }
  });

  it('probe --mode light: consistent, exit 0, the report says light', async () => {
    const human = await cli(['probe', '--target', 'demo', '--user', alice, '--mode', 'light'], env);
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^Consistent: \d+ rows in 2 buckets match the source/);
    expect(human.stdout).toMatch(/^mode light$/m);
    const json = await cli(['probe', '--target', 'demo', '--user', alice, '--mode', 'light', '--json'], env);
    const report = JSON.parse(json.stdout) as ProbeReport;
    expect(report).toMatchObject({ mode: 'light', verdict: 'consistent' });
    expect(report.confirmation).toBeUndefined();
  });

  it('explain traces a row through the rules to its bucket and says whether a user holds it', async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: `postgres://postgres:${encodeURIComponent(readFileSync(path.join(home, 'secrets', 'pg-superuser-password'), 'utf8').trim())}@127.0.0.1:${env.SYNCSCOPE_PG_PORT}/app`
    });
    await client.connect();
    const { rows } = await client.query<{ id: string }>(
      `SELECT r.id FROM records r JOIN workspace_memberships m ON m.workspace_id = r.workspace_id
       WHERE m.user_id = $1 ORDER BY r.id LIMIT 1`,
      [alice]
    );
    await client.end();
    const id = rows[0]!.id;
    const human = await cli(
      ['explain', '--target', 'demo', '--table', 'records', '--id', id, '--user', alice],
      env
    );
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toContain(`Row public.records id ${id}`);
    expect(human.stdout).toMatch(/✓ bucket 1#by_workspace\["[0-9a-f-]+"\]/);
    expect(human.stdout).toContain(`User ${alice}: 2 buckets; holds a bucket with this row.`);
    expectNoSecrets(human.stdout + human.stderr);

    const carol = DEMO_USERS.carol.id;
    const json = await cli(
      ['explain', '--target', 'demo', '--table', 'records', '--id', id, '--user', carol, '--json'],
      env
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id,
      found: true,
      user: { userId: carol, holdsRow: false }
    });

    const missing = await cli(['explain', '--target', 'demo', '--table', 'no_such_table', '--id', 'x'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^SYNCSCOPE_E_TABLE_NOT_IN_RULES: The sync rules do not read table "no_such_table", .*public\.records/m
    );
    expectNoSecrets(missing.stdout + missing.stderr);
    // The superuser's password verifier is out of reach: the catalog is not a table the rules read.
    const authid = await cli(
      ['explain', '--target', 'demo', '--table', 'pg_catalog.pg_authid', '--id', '10'],
      env
    );
    expect(authid.code).toBe(2);
    expect(authid.stderr).toMatch(/^SYNCSCOPE_E_TABLE_NOT_IN_RULES: /m);
    expect(authid.stdout + authid.stderr).not.toContain('SCRAM-SHA-256');
  });

  it('the agent probes on POST /probes with its token, counts it in /metrics, and prints no secret', async () => {
    const port = await findFreePort();
    // POST /probes audits in the stack's ops database before it mints.
    const agent = start(
      ['agent/src/cli.ts', 'agent', '--port', String(port), '--ops-db', opsDatabaseUrl(env)],
      {
        ...env,
        SYNCSCOPE_AGENT_TOKEN: AGENT_TOKEN
      }
    );
    try {
      await waitFor(agent, 'SyncScope agent listening', 30_000);
      const url = `http://127.0.0.1:${port}`;
      const before = await (await fetch(`${url}/metrics`)).text();
      expect(before).toContain(
        'syncscope_probe_runs_total{target="demo",verdict="consistent",reason="none",mode="full"} 0'
      );

      const unauthorised = await fetch(`${url}/probes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'demo', user: alice })
      });
      expect(unauthorised.status).toBe(401);

      const res = await fetch(`${url}/probes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${AGENT_TOKEN}` },
        body: JSON.stringify({ target: 'demo', user: alice, actor: 'e2e@example.com', reason: 'e2e test' })
      });
      expect(res.status).toBe(200);
      const report = (await res.json()) as ProbeReport & { runId: string };
      expect(report.runId).toMatch(/^[0-9a-f-]{36}$/);
      expect(report.verdict).toBe('consistent');
      expectNoSecrets(JSON.stringify(report));

      // The demo probe key's public half, for a service that lists the agent in client_auth.jwks_uri.
      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: object[] };
      expect(jwks.keys).toMatchObject([{ kid: report.token.kid, kty: 'RSA', use: 'sig' }]);
      expect(jwks.keys[0]).not.toHaveProperty('d');

      const after = await (await fetch(`${url}/metrics`)).text();
      expect(after).toContain(
        'syncscope_probe_runs_total{target="demo",verdict="consistent",reason="none",mode="full"} 1'
      );
      expect(after).toMatch(/syncscope_probe_phase_duration_seconds_count\{target="demo",phase="sync"\} 1/);
      expect(after).not.toContain(alice);
      expect(execFileSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' })).toBe('');
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
    expect(agent.output()).toContain('"msg":"probe finished"');
    expectNoSecrets(agent.output());
  });

  it('the compiled CLI (the package bin, the agent image) probes the stack: consistent, exit 0, no secret printed', async () => {
    const r = await cli(['probe', '--target', 'demo', '--user', alice, '--json'], env, { compiled: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(report).toMatchObject({ target: 'demo', userId: alice, verdict: 'consistent' });
    expect(report.buckets.expected).toHaveLength(2);
    expect(report.buckets.actual).toHaveLength(2);
    expect(r.stderr).toContain('"msg":"probe token minted"');
    expectNoSecrets(r.stdout + r.stderr);
  });

  it('the compiled agent computes expected states on its worker thread and helper threads (files beside the bundle)', async () => {
    const port = await findFreePort();
    const agent = start(
      [
        COMPILED_CLI,
        'agent',
        '--port',
        String(port),
        '--ops-db',
        opsDatabaseUrl(env),
        '--partition-helpers',
        '1'
      ],
      { ...env, SYNCSCOPE_AGENT_TOKEN: AGENT_TOKEN },
      { compiled: true }
    );
    try {
      await waitFor(agent, 'SyncScope agent listening', 30_000);
      const res = await fetch(`http://127.0.0.1:${port}/probes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${AGENT_TOKEN}` },
        body: JSON.stringify({
          target: 'demo',
          user: alice,
          actor: 'e2e@example.com',
          reason: 'compiled agent'
        })
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as ProbeReport).verdict).toBe('consistent');
    } finally {
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    }
    expect(agent.output()).toContain('"msg":"probe finished"');
    // A thread that cannot start (an entry file missing from dist/) makes the agent say so and fall back.
    expect(agent.output()).not.toMatch(/computed in-thread/);
    expectNoSecrets(agent.output());
  });
});
