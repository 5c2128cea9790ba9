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
function run(name: string, args: string[], env: NodeJS.ProcessEnv, logs: string) {
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

describe('secrets in the logs of every process, at debug level', () => {
  const cleanup: string[] = [];
  afterAll(async () => {
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  it('sign-in, probes, an upload, a write probe and an ingest report leave no secret in any log', async () => {
    const started = Date.now();
    const home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-logs-home-'));
    const logs = path.join(home, 'test-logs');
    cleanup.push(home);
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
    const host = '127.0.0.1';
    const backend = `http://${host}:${env.SYNCSCOPE_DEMO_PORT}`;
    const consoleUrl = `http://${host}:${env.SYNCSCOPE_DASHBOARD_PORT}`;
    const stack = run('stack', ['demo/src/stack/main.ts'], env, logs);
    try {
      await until(
        'the stack',
        async () => (stack.output().includes('Press Ctrl-C') ? true : undefined),
        150_000
      );
    } catch (error) {
      stack.child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}:\n${stack.output().slice(-3000)}`);
    }
    const used: Record<string, string> = { 'the Postgres superuser password': pgPassword };
    const ops = new pg.Pool({
      connectionString: `postgres://postgres:${pgPassword}@${host}:${env.SYNCSCOPE_PG_PORT}/syncscope`,
      max: 2
    });
    try {
      // Console sign-in; the session cookie is a secret too.
      const credentials = readFileSync(path.join(home, 'demo-credentials.txt'), 'utf8').trim().split('\n');
      for (const [i, line] of credentials.entries()) used[`console password ${i + 1}`] = line.split(' ')[1]!;
      const [email, password] = credentials[0]!.split(' ');
      const signIn = await fetch(`${consoleUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: consoleUrl },
        body: JSON.stringify({ email, password })
      });
      expect(signIn.status).toBe(200);
      const consoleCookie = /syncscope_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')![1]!;
      used['the console session cookie'] = consoleCookie;

      // Read and write probes as console jobs, run by the stack's agent.
      for (const kind of ['read', 'write'] as const) {
        const enqueued = await fetch(`${consoleUrl}/api/probes`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            origin: consoleUrl,
            cookie: `syncscope_session=${consoleCookie}`
          },
          body: JSON.stringify({
            kind,
            target: 'demo',
            userId: DEMO_USERS.alice.id,
            reason: 'log secrets test'
          })
        });
        expect(enqueued.status, await enqueued.clone().text()).toBe(202);
        const { jobId } = (await enqueued.json()) as { jobId: string };
        const status = await until(`the ${kind} probe job`, async () => {
          const { rows } = await ops.query('SELECT status, error FROM syncscope.probe_jobs WHERE id = $1', [
            jobId
          ]);
          return ['done', 'failed'].includes(rows[0]?.status) ? rows[0] : undefined;
        });
        expect(status, `${kind} probe job`).toMatchObject({ status: 'done' });
      }

      // An upload through the demo backend, as the app does it; one op fails, so a report is ingested.
      const login = await fetch(`${backend}/api/dev/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: DEMO_USERS.alice.email })
      });
      const { session } = (await login.json()) as { session: string };
      used['the demo backend session'] = session;
      const tokenResponse = await fetch(`${backend}/api/powersync/token`, {
        headers: { cookie: `demo_session=${session}` }
      });
      const { token } = (await tokenResponse.json()) as { token: string };
      used['the app sync token'] = token;
      const stream = await readSyncStream(
        `http://${host}:${env.SYNCSCOPE_SYNC_PORT}`,
        token,
        {},
        (l) => 'checkpoint_complete' in l
      );
      expect(stream.status).toBe(200);
      const upload = await fetch(`${backend}/api/upload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          batch: [
            {
              op: 'PUT',
              table: 'records',
              id: crypto.randomUUID(),
              data: { workspace_id: workspaceId(1), title: 'logs' }
            },
            { op: 'PUT', table: 'no_such_table', id: 'x', data: {} }
          ]
        })
      });
      expect(upload.status).toBe(200);
      await until('the ingested upload report', async () => {
        const { rows } = await ops.query('SELECT count(*)::int AS n FROM syncscope.upload_errors');
        return rows[0].n > 0 ? true : undefined;
      });

      // Refused credentials are secrets too (a mistyped password is often a real one): a wrong console
      // password, a wrong ingest key, and a JWT whose payload was changed after signing (for the sync
      // server and the backend).
      used['a wrong console password'] = `wrong-${crypto.randomUUID()}`;
      const wrongSignIn = await fetch(`${consoleUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: consoleUrl },
        body: JSON.stringify({ email, password: used['a wrong console password'] })
      });
      expect(wrongSignIn.status).toBe(401);
      used['a wrong ingest key'] = `sik_${crypto.randomUUID()}`;
      const wrongIngest = await fetch(`${consoleUrl}/api/ingest/v1/upload-results`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${used['a wrong ingest key']}`
        },
        body: '{}'
      });
      expect(wrongIngest.status).toBe(401);
      const [header, , signature] = token.split('.');
      const forged = `${header}.${Buffer.from(JSON.stringify({ sub: 'x', aud: 'powersync-dev' })).toString('base64url')}.${signature}`;
      expect(
        (await readSyncStream(`http://${host}:${env.SYNCSCOPE_SYNC_PORT}`, forged, {}, () => true)).status
      ).toBe(401);
      const forgedUpload = await fetch(`${backend}/api/upload`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${forged}` },
        body: JSON.stringify({ batch: [] })
      });
      expect(forgedUpload.status).toBe(401);

      // The CLI, at debug level too: a probe and a write probe.
      for (const [name, args] of [
        ['cli-probe', ['probe', '--target', 'demo', '--user', DEMO_USERS.alice.id]],
        ['cli-write-probe', ['write-probe', '--target', 'demo']]
      ] as const) {
        const cli = run(name, ['agent/src/cli.ts', ...args], env, logs);
        expect(await cli.exited, cli.output()).toBe(0);
      }
    } finally {
      await ops.end();
      stack.child.kill('SIGINT');
      await stack.exited;
    }
    Object.assign(used, secretsOnDisk(home));

    // The collection found what the stack keeps (so an empty walk cannot pass), and nothing trivial.
    expect(Object.keys(used)).toEqual(
      expect.arrayContaining([
        'secrets/sync-api-token',
        'secrets/probe-db-password',
        'secrets/write-probe-upload-token',
        'secrets/demo-ingest-key',
        'keys/demo-app-1.private.jwk.json (d)',
        'keys/syncscope-probe-1.private.jwk.json (d)'
      ])
    );
    for (const [what, value] of Object.entries(used)) expect(value.length, what).toBeGreaterThanOrEqual(8);

    const logFiles = readdirSync(logs).map((f) => path.join(logs, f));
    expect(logFiles.map((f) => path.basename(f)).sort()).toEqual(
      ['agent.log', 'cli-probe.log', 'cli-write-probe.log', 'console.log', 'stack.log'].sort()
    );
    // Debug level reached every process that has one (the console has none: Next's own lines only).
    for (const part of ['stack.log', 'agent.log', 'cli-probe.log'])
      expect(readFileSync(path.join(logs, part), 'utf8'), part).toContain('"level":20');
    const leaks: string[] = [];
    for (const file of logFiles) {
      const text = readFileSync(file, 'utf8');
      for (const [what, value] of Object.entries(used))
        if (text.includes(value)) leaks.push(`${what} in ${path.basename(file)}`);
      if (JWT.test(text))
        leaks.push(`a JWT in ${path.basename(file)}: ${JWT.exec(text)![0].slice(0, 40)}...`);
    }
    expect(leaks).toEqual([]);
    expect(statSync(path.join(logs, 'agent.log')).mode & 0o777).toBe(0o600);
    console.log(`log-secrets test: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, 300_000);
});
