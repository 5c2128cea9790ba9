import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSyncStream } from '@syncscope/powersync/testing/ndjson-stream-reader';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freeStackPorts } from './free-stack-ports.ts';
import { superuserPasswordFile } from './secrets.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startStackProcess(env: Record<string, string>): Started {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/src/stack/main.ts'], {
    cwd: REPO,
    env: { ...process.env, ...env, SYNCSCOPE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(started: Started, text: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!started.output().includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for "${text}"; output:\n${started.output()}`);
    if (started.child.exitCode !== null) throw new Error(`stack exited early:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stackEnv(home: string) {
  return {
    SYNCSCOPE_HOME: home,
    ...(await freeStackPorts()),
    SYNCSCOPE_SEED_RECORDS: '100'
  };
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The embedded superuser's URL, with the password `npm start` generated for this data folder. */
const superuserUrl = (env: Record<string, string>, db: string) => {
  const password = readFileSync(superuserPasswordFile(env.SYNCSCOPE_HOME!), 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${env.SYNCSCOPE_PG_PORT}/${db}`;
};

describe('npm start: the embedded stack', () => {
  const homes: string[] = [];
  const newHome = async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-home-'));
    homes.push(home);
    return home;
  };
  afterAll(async () => {
    for (const home of homes) await rm(home, { recursive: true, force: true });
  });

  it('comes up from an empty data folder, answers on its ports, stops cleanly, and keeps its data for a warm start', async () => {
    const env = await stackEnv(await newHome());
    const first = startStackProcess(env);
    await waitFor(first, 'Press Ctrl-C');
    expect(first.output()).toContain('new data folder');
    expect(first.output()).not.toContain(`postgres:postgres@`); // no password in output
    const sync = `http://127.0.0.1:${env.SYNCSCOPE_SYNC_PORT}`;
    const backend = `http://127.0.0.1:${env.SYNCSCOPE_DEMO_PORT}`;
    expect((await fetch(`${sync}/probes/readiness`)).status).toBe(200);
    expect((await fetch(`${backend}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${env.SYNCSCOPE_SYNC_METRICS_PORT}/metrics`)).status).toBe(200);
    // The console and its probe agent; demo accounts with fresh passwords, in a 0600 file.
    const consoleUrl = `http://127.0.0.1:${env.SYNCSCOPE_DASHBOARD_PORT}`;
    expect((await fetch(`${consoleUrl}/login`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${env.SYNCSCOPE_AGENT_METRICS_PORT}/healthz`)).status).toBe(200);
    const credentialsFile = path.join(env.SYNCSCOPE_HOME, 'demo-credentials.txt');
    const credentials = readFileSync(credentialsFile, 'utf8').trim().split('\n');
    expect(credentials.map((l) => l.split(' ')[0])).toEqual([
      'admin@example.com',
      'operator@example.com',
      'viewer@example.com'
    ]);
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    // Output that is not a terminal ends up in logs: the emails and the file, never the passwords.
    expect(first.output()).toContain(credentialsFile);
    for (const line of credentials) {
      expect(first.output()).toContain(line.split(' ')[0]);
      expect(first.output()).not.toContain(line.split(' ')[1]);
    }
    const [adminEmail, adminPassword] = credentials[0]!.split(' ');
    const signIn = await fetch(`${consoleUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: adminEmail, password: adminPassword })
    });
    expect(signIn.status).toBe(200);
    // The console and the agent reach the ops database as their own roles, never as the superuser.
    const ops = new pg.Client({
      connectionString: superuserUrl(env, 'syncscope')
    });
    await ops.connect();
    const sessions = await ops.query(
      "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'syncscope' AND pid <> pg_backend_pid() ORDER BY 1"
    );
    await ops.end();
    expect(sessions.rows.map((r) => r.usename)).toEqual(['syncscope_agent', 'syncscope_console']);
    // Nobody else on the machine gets in as the superuser with a default password: it is generated (0600).
    const superuserPassword = readFileSync(superuserPasswordFile(env.SYNCSCOPE_HOME), 'utf8').trim();
    expect(superuserPassword.length).toBeGreaterThanOrEqual(32);
    expect(statSync(superuserPasswordFile(env.SYNCSCOPE_HOME)).mode & 0o777).toBe(0o600);
    expect(first.output()).not.toContain(superuserPassword);
    const guessed = new pg.Client({
      connectionString: `postgres://postgres:postgres@127.0.0.1:${env.SYNCSCOPE_PG_PORT}/app`
    });
    await expect(guessed.connect()).rejects.toThrow(/password authentication failed/);
    for (const role of ['owner', 'console', 'agent'])
      expect(statSync(path.join(env.SYNCSCOPE_HOME, 'secrets', `ops-${role}-db-password`)).mode & 0o777).toBe(
        0o600
      );
    const login = await fetch(`${backend}/api/dev/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'alice@example.com' })
    });
    expect(login.status).toBe(200);
    // A token from the backend opens a sync stream: the sync server trusts the backend's JWKS URI.
    const { session } = (await login.json()) as { session: string };
    const { token } = (await (
      await fetch(`${backend}/api/powersync/token`, { headers: { Authorization: `Bearer ${session}` } })
    ).json()) as {
      token: string;
    };
    const stream = await readSyncStream(sync, token, {}, (l) => 'checkpoint_complete' in l);
    expect(stream.status).toBe(200);
    expect((stream.lines[0] as { checkpoint: { buckets: unknown[] } }).checkpoint.buckets).toHaveLength(2);
    const db = new pg.Client({
      connectionString: superuserUrl(env, 'app')
    });
    await db.connect();
    expect((await db.query('SELECT count(*)::int AS n FROM records')).rows[0].n).toBe(100);
    await db.query(
      "UPDATE records SET title = 'kept across restarts' WHERE id = (SELECT min(id) FROM records)"
    );
    await db.end();
    const postgresPid = Number(
      readFileSync(path.join(env.SYNCSCOPE_HOME, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]
    );
    expect(pidAlive(postgresPid)).toBe(true);

    first.child.kill('SIGINT');
    expect(await first.exited, first.output().slice(-2000)).toBe(0);
    expect(pidAlive(postgresPid)).toBe(false);
    expect(existsSync(path.join(env.SYNCSCOPE_HOME, 'pg', 'postmaster.pid'))).toBe(false);
    // The console and the agent stopped with it (no orphans still listening).
    await expect(fetch(`${consoleUrl}/login`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${env.SYNCSCOPE_AGENT_METRICS_PORT}/healthz`)).rejects.toThrow();

    const second = startStackProcess(env);
    await waitFor(second, 'Press Ctrl-C');
    expect(second.output()).toContain('existing data');
    const again = new pg.Client({
      connectionString: superuserUrl(env, 'app')
    });
    await again.connect();
    expect(
      (await again.query("SELECT count(*)::int AS n FROM records WHERE title = 'kept across restarts'"))
        .rows[0].n
    ).toBe(1);
    await again.end();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 180_000);

  it('says which port is taken and which variable moves it', async () => {
    const env = await stackEnv(await newHome());
    const blocker = (await import('node:net'))
      .createServer()
      .listen(Number(env.SYNCSCOPE_DEMO_PORT), '127.0.0.1');
    const started = startStackProcess(env);
    expect(await started.exited).toBe(1);
    blocker.close();
    expect(started.output()).toContain('SYNCSCOPE_E_PORT_IN_USE');
    expect(started.output()).toContain('SYNCSCOPE_DEMO_PORT');
    // Nothing left running: the Postgres it had started is stopped again.
    const pidFile = path.join(env.SYNCSCOPE_HOME, 'pg', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(false);
  }, 120_000);

  it('refuses two parts on one port, naming both variables', async () => {
    const env = await stackEnv(await newHome());
    const started = startStackProcess({ ...env, SYNCSCOPE_DASHBOARD_PORT: env.SYNCSCOPE_DEMO_PORT });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain(
      `SYNCSCOPE_E_PORT_IN_USE: SYNCSCOPE_DEMO_PORT and SYNCSCOPE_DASHBOARD_PORT are both ${env.SYNCSCOPE_DEMO_PORT}`
    );
  }, 60_000);

  it('refuses a data folder made by another Postgres major version, saying what to do', async () => {
    const home = await newHome();
    await mkdir(path.join(home, 'pg'), { recursive: true });
    await writeFile(path.join(home, 'pg', 'PG_VERSION'), '15\n');
    const started = startStackProcess(await stackEnv(home));
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('SYNCSCOPE_E_PG_DATA_VERSION');
    expect(started.output()).toContain('Postgres 15');
    expect(started.output()).toMatch(/Move the folder away/);
  }, 60_000);
});
