import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { upsertConsoleUser } from '@syncscope/core/console-users/console-grants';
import { generatePassword } from '@syncscope/core/console-users/password-hash';
import { replaceIngestKeys } from '@syncscope/core/upload-errors/ingest-keys';
import pg from 'pg';
import { type ManagedChild, spawnNode, waitForHttp } from './child-process.ts';
import { writeSecretFile } from './secrets.ts';

/**
 * The console's server (dashboard/server.mjs: `next start` that also tells the console the socket's
 * peer, for trusted-proxy decisions), with the ops database and targets of the stack.
 */
export async function startConsole(input: {
  repoRoot: string;
  host: string;
  port: number;
  env: NodeJS.ProcessEnv;
  logFile?: string;
}): Promise<{ url: string; process: ManagedChild }> {
  const dashboard = path.join(input.repoRoot, 'dashboard');
  const managed = spawnNode(
    [path.join(dashboard, 'server.mjs'), '-p', String(input.port), '-H', input.host],
    {
      cwd: dashboard,
      env: { ...input.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
      logFile: input.logFile
    }
  );
  const url = `http://${input.host}:${input.port}`;
  try {
    await waitForHttp(managed, `${url}/login`, 'The console');
  } catch (error) {
    await managed.stop();
    throw error;
  }
  return { url, process: managed };
}

/**
 * A probe agent process that runs the console's probe jobs (`syncscope agent --ops-db`); its API needs
 * the bearer token in `env.SYNCSCOPE_AGENT_TOKEN`.
 */
export async function startAgent(input: {
  repoRoot: string;
  host: string;
  port: number;
  env: NodeJS.ProcessEnv;
  logFile?: string;
}): Promise<{ url: string; process: ManagedChild }> {
  const managed = spawnNode(
    [
      '--import',
      'tsx',
      path.join(input.repoRoot, 'agent', 'src', 'cli.ts'),
      'agent',
      '--host',
      input.host,
      '--port',
      String(input.port)
    ],
    { cwd: input.repoRoot, env: input.env, logFile: input.logFile }
  );
  const url = `http://${input.host}:${input.port}`;
  try {
    await waitForHttp(managed, `${url}/healthz`, 'The probe agent');
  } catch (error) {
    await managed.stop();
    throw error;
  }
  return { url, process: managed };
}

export const DEMO_CONSOLE_USERS = [
  { email: 'admin@example.com', role: 'admin' },
  { email: 'operator@example.com', role: 'operator' },
  { email: 'viewer@example.com', role: 'viewer' }
] as const;

/**
 * Demo mode's console accounts, each with its role on all targets: a new random password for each at
 * every start (audited as `user.reset`), written to `<home>/demo-credentials.txt` (0600, one
 * `email password` per line) and printed once.
 */
export async function resetDemoConsoleUsers(
  opsUrl: string,
  home: string
): Promise<{ file: string; lines: string[] }> {
  const pool = new pg.Pool({ connectionString: opsUrl, max: 2 });
  try {
    const lines: string[] = [];
    for (const user of DEMO_CONSOLE_USERS) {
      const password = generatePassword();
      await upsertConsoleUser(pool, { ...user, password }, 'npm start');
      lines.push(`${user.email} ${password}`);
    }
    const file = path.join(home, 'demo-credentials.txt');
    await writeSecretFile(file, `${lines.join('\n')}\n`);
    return { file, lines };
  } finally {
    await pool.end();
  }
}

const DEMO_INGEST_LABEL = 'demo backend (npm start)';

/**
 * A fresh ingest key for the demo backend's upload reports (the previous start's key is revoked), kept
 * in a 0600 file like the stack's other secrets so an operator can send a report by hand.
 */
export async function rotateDemoIngestKey(opsUrl: string, target: string, file: string): Promise<string> {
  const pool = new pg.Pool({ connectionString: opsUrl, max: 1 });
  try {
    const { key } = await replaceIngestKeys(pool, {
      target,
      label: DEMO_INGEST_LABEL,
      createdBy: 'npm start'
    });
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeSecretFile(file, `${key}\n`);
    return key;
  } finally {
    await pool.end();
  }
}
