import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSyncStream } from '@syncscope/powersync/testing/ndjson-stream-reader';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../seed/index.ts';
import { workspaceId } from '../seed/seed-plan.ts';
import { freeStackPorts } from './free-stack-ports.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/;
/** JWK members that are private (RSA/EC/OKP private parts, symmetric `k`). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** Runs a Node process with its stdout and stderr going to `<logs>/<name>.log`. */
function start(name: string, args: string[], env: NodeJS.ProcessEnv, logs: string) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const file = createWriteStream(path.join(logs, `${name}.log`));
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (d) => (output += d));
    stream.pipe(file, { end: false });
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => file.end(() => resolve(code)))
  );
  return { child, output: () => output, exited };
}

/** Every file below `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

/**
 * Every secret the stack keeps on disk, found by walking `secrets/` and `keys/` (so a secret added
 * later is covered without editing this test): a secrets file's whole value and each of its lines,
 * a key file's private JWK members.
 */
function secretsOnDisk(home: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const file of filesUnder(path.join(home, 'secrets'))) {
    const text = readFileSync(file, 'utf8').trim();
    found[path.relative(home, file)] = text;
    for (const [i, line] of text.split('\n').entries())
      if (line.trim() !== text) found[`${path.relative(home, file)} line ${i + 1}`] = line.trim();
  }
  for (const file of filesUnder(path.join(home, 'keys'))) {
    const text = readFileSync(file, 'utf8');
    let jwk: Record<string, unknown> | null = null;
    try {
      jwk = JSON.parse(text) as Record<string, unknown>;
    } catch {
      found[path.relative(home, file)] = text.trim();
    }
    for (const member of PRIVATE_JWK_MEMBERS)
      if (typeof jwk?.[member] === 'string') found[`${path.relative(home, file)} (${member})`] = jwk[member];
  }
  return found;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What the steps share: where things listen, the ops database, and every secret used so far. */
interface Run {
  env: NodeJS.ProcessEnv;
  logs: string;
  urls: { console: string; backend: string; sync: string };
  ops: pg.Pool;
  used: Record<string, string>;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  });

/** Console sign-in, then a read and a write probe as console jobs, run by the stack's agent. */
async function consoleSteps(run: Run, home: string): Promise<void> {
  const origin = { origin: run.urls.console };
  const credentials = readFileSync(path.join(home, 'demo-credentials.txt'), 'utf8').trim().split('\n');
  for (const [i, line] of credentials.entries()) run.used[`console password ${i + 1}`] = line.split(' ')[1]!;
  const [email, password] = credentials[0]!.split(' ');
  const signIn = await post(`${run.urls.console}/api/auth/login`, { email, password }, origin);
  expect(signIn.status).toBe(200);
  const cookie = /syncscope_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
  run.used['the console session cookie'] = cookie;
  for (const kind of ['read', 'write'] as const) {
    const enqueued = await post(
      `${run.urls.console}/api/probes`,
      { kind, target: 'demo', userId: DEMO_USERS.alice.id, reason: 'log secrets test' },
      { ...origin, cookie: `syncscope_session=${cookie}` }
    );
    expect(enqueued.status, await enqueued.clone().text()).toBe(202);
    const { jobId } = (await enqueued.json()) as { jobId: string };
    const job = await until(`the ${kind} probe job`, async () => {
      const { rows } = await run.ops.query('SELECT status, error FROM syncscope.probe_jobs WHERE id = $1', [
        jobId
      ]);
      return ['done', 'failed'].includes(rows[0]?.status) ? rows[0] : undefined;
    });
    expect(job, `${kind} probe job`).toMatchObject({ status: 'done' });
  }
}

/** As the app: dev login, a sync token, a sync stream, an upload with one failing op (so a report is ingested). */
async function appSteps(run: Run): Promise<string> {
  const login = await post(`${run.urls.backend}/api/dev/login`, { email: DEMO_USERS.alice.email });
  const { session } = (await login.json()) as { session: string };
  run.used['the demo backend session'] = session;
  const tokenResponse = await fetch(`${run.urls.backend}/api/powersync/token`, {
    headers: { cookie: `demo_session=${session}` }
  });
  const { token } = (await tokenResponse.json()) as { token: string };
  run.used['the app sync token'] = token;
  const stream = await readSyncStream(run.urls.sync, token, {}, (l) => 'checkpoint_complete' in l);
  expect(stream.status).toBe(200);
  const record = { workspace_id: workspaceId(1), title: 'logs' };
  const batch = [
    { op: 'PUT', table: 'records', id: crypto.randomUUID(), data: record },
    { op: 'PUT', table: 'no_such_table', id: 'x', data: {} }
  ];
  const upload = await post(
    `${run.urls.backend}/api/upload`,
    { batch },
    { authorization: `Bearer ${token}` }
  );
  expect(upload.status).toBe(200);
  await until('the ingested upload report', async () => {
    const { rows } = await run.ops.query('SELECT count(*)::int AS n FROM syncscope.upload_errors');
    return rows[0].n > 0 ? true : undefined;
  });
  return token;
}

/**
 * Refused credentials are secrets too (a mistyped password is often a real one): a wrong console
 * password, a wrong ingest key, and the app token with its payload changed after signing.
 */
async function refusedSteps(run: Run, appToken: string): Promise<void> {
  const password = `wrong-${crypto.randomUUID()}`;
  run.used['a wrong console password'] = password;
  const email = 'admin@example.com';
  const origin = { origin: run.urls.console };
  expect((await post(`${run.urls.console}/api/auth/login`, { email, password }, origin)).status).toBe(401);
  const ingestKey = `sik_${crypto.randomUUID()}`;
  run.used['a wrong ingest key'] = ingestKey;
  const ingest = await post(
    `${run.urls.console}/api/ingest/v1/upload-results`,
    {},
    {
      authorization: `Bearer ${ingestKey}`
    }
  );
  expect(ingest.status).toBe(401);
  const [header, , signature] = appToken.split('.');
  const payload = Buffer.from(JSON.stringify({ sub: 'x', aud: 'powersync-dev' })).toString('base64url');
  const forged = `${header}.${payload}.${signature}`;
  expect((await readSyncStream(run.urls.sync, forged, {}, () => true)).status).toBe(401);
  const upload = await post(
    `${run.urls.backend}/api/upload`,
    { batch: [] },
    { authorization: `Bearer ${forged}` }
  );
  expect(upload.status).toBe(401);
}

/** The CLI at debug level too: a probe and a write probe. */
async function cliSteps(run: Run): Promise<void> {
  for (const [name, args] of [
    ['cli-probe', ['probe', '--target', 'demo', '--user', DEMO_USERS.alice.id]],
    ['cli-write-probe', ['write-probe', '--target', 'demo']]
  ] as const) {
    const cli = start(name, ['agent/src/cli.ts', ...args], run.env, run.logs);
    expect(await cli.exited, cli.output()).toBe(0);
  }
}

/** Each secret found in a log, and any JWT at all (probe tokens the test never sees included). */
function leaksIn(logFiles: string[], used: Record<string, string>): string[] {
  const leaks: string[] = [];
  for (const file of logFiles) {
    const text = readFileSync(file, 'utf8');
    for (const [what, value] of Object.entries(used))
      if (text.includes(value)) leaks.push(`${what} in ${path.basename(file)}`);
    const jwt = JWT.exec(text);
    if (jwt) leaks.push(`a JWT in ${path.basename(file)} (header ${jwt[0].split('.')[0]})`);
  }
  return leaks;
}

describe('secrets in the logs of every process, at debug level', () => {
  const cleanup: string[] = [];
  afterAll(async () => {
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('sign-in, probes, an upload, a write probe and an ingest report leave no secret in any log', async () => {
    const started = Date.now();
    const home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-logs-home-'));
    cleanup.push(home);
    const logs = path.join(home, 'test-logs');
    await mkdir(logs);
    const pgPassword = `pg-${crypto.randomUUID()}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SYNCSCOPE_HOME: home,
      ...(await freeStackPorts()),
      SYNCSCOPE_SEED_RECORDS: '100',
      SYNCSCOPE_PG_PASSWORD: pgPassword,
      SYNCSCOPE_LOG_LEVEL: 'debug',
      SYNCSCOPE_LOG_DIR: logs
    };
    const stack = start('stack', ['demo/src/stack/main.ts'], env, logs);
    const ready = async () => (stack.output().includes('Press Ctrl-C') ? true : undefined);
    await until('the stack', ready, 240_000).catch(async (error: Error) => {
      stack.child.kill('SIGINT');
      await stack.exited;
      throw new Error(`${error.message}:\n${stack.output().slice(-3000)}`);
    });
    const host = '127.0.0.1';
    const run: Run = {
      env,
      logs,
      urls: {
        console: `http://${host}:${env.SYNCSCOPE_DASHBOARD_PORT}`,
        backend: `http://${host}:${env.SYNCSCOPE_DEMO_PORT}`,
        sync: `http://${host}:${env.SYNCSCOPE_SYNC_PORT}`
      },
      ops: new pg.Pool({
        connectionString: `postgres://postgres:${pgPassword}@${host}:${env.SYNCSCOPE_PG_PORT}/syncscope`,
        max: 2
      }),
      used: { 'the Postgres superuser password': pgPassword }
    };
    try {
      await consoleSteps(run, home);
      await refusedSteps(run, await appSteps(run));
      await cliSteps(run);
    } finally {
      await run.ops.end();
      stack.child.kill('SIGINT');
      await stack.exited;
    }
    const used = { ...run.used, ...secretsOnDisk(home) };

    // The walk found what the stack keeps (so an empty walk cannot pass), and no secret is trivially short.
    expect(Object.keys(used)).toEqual(
      expect.arrayContaining([
        'secrets/sync-api-token',
        'secrets/demo-ingest-key',
        'keys/demo-app-1.private.jwk.json (d)',
        'keys/syncscope-probe-1.private.jwk.json (d)'
      ])
    );
    for (const [what, value] of Object.entries(used)) expect(value.length, what).toBeGreaterThanOrEqual(8);
    const logFiles = readdirSync(logs).map((f) => path.join(logs, f));
    expect(logFiles.map((f) => path.basename(f)).sort()).toEqual([
      'agent.log',
      'cli-probe.log',
      'cli-write-probe.log',
      'console.log',
      'stack.log'
    ]);
    // Debug level reached every process that has levels (the console logs Next's own lines only).
    for (const part of ['stack.log', 'agent.log', 'cli-probe.log'])
      expect(readFileSync(path.join(logs, part), 'utf8'), part).toContain('"level":20');
    expect(leaksIn(logFiles, used)).toEqual([]);
    expect(statSync(path.join(logs, 'agent.log')).mode & 0o777).toBe(0o600);
    // About 70 s with the console built; its build (first run, or after source changes) adds about 60 s.
    console.log(`log-secrets test: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, 420_000);
});
