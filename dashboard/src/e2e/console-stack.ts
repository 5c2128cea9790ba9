import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@syncscope/core';
import { freeStackPorts } from '@syncscope/demo/stack/free-stack-ports';
import { type RunningStack, startStack } from '@syncscope/demo/stack/start-stack';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type StreamsTarget, startStreamsTarget } from './streams-target.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCREENSHOTS = path.join(REPO_ROOT, 'test-results', 'screenshots');

/** The console's /metrics token in the test stacks (a console reachable beyond Prometheus sets one). */
export const E2E_METRICS_TOKEN = randomBytes(24).toString('base64url');

/** The whole embedded stack (`npm start`'s code) on free ports in a throw-away home. */
export async function startConsoleStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<RunningStack> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extraEnv,
    SYNCSCOPE_HOME: home,
    ...(await freeStackPorts()),
    SYNCSCOPE_SEED_RECORDS: '200',
    SYNCSCOPE_METRICS_TOKEN: E2E_METRICS_TOKEN
  };
  return startStack({ logger: createLogger('e2e', 'error'), env });
}

/** Debian's Chromium driven by playwright-core (no browser download). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SYNCSCOPE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage']
  });
}

export function credentialsOf(
  stack: RunningStack,
  role: 'admin' | 'operator' | 'viewer'
): { email: string; password: string } {
  const line = stack.credentials.lines.find((l) => l.startsWith(`${role}@`));
  if (!line) throw new Error(`no demo ${role}`);
  const [email, password] = line.split(' ') as [string, string];
  return { email, password };
}

export async function signIn(
  page: Page,
  consoleUrl: string,
  who: { email: string; password: string }
): Promise<void> {
  await page.goto(`${consoleUrl}/login`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function syncAdminToken(stack: RunningStack): Promise<string> {
  return (await readFile(path.join(stack.config.home, 'secrets', 'sync-api-token'), 'utf8')).trim();
}

export interface ConsoleSession {
  stack: RunningStack;
  browser: Browser;
  /** A page signed in with the given role. */
  page: Page;
  /** The demo app's database and SyncScope's ops database. */
  app: pg.Pool;
  ops: pg.Pool;
  /** Target `streams` (sync-stream rules), when asked for. */
  streams: StreamsTarget | null;
  close(): Promise<void>;
}

/**
 * The embedded stack, Chromium, a page signed in as `role`, and pools on the app and ops databases;
 * with `streamsTarget` (a database name prefix), also target `streams` (see streams-target.ts); `env`
 * goes to the stack's processes.
 */
export async function startConsoleSession(
  role: 'admin' | 'operator' | 'viewer',
  options: { streamsTarget?: string; env?: NodeJS.ProcessEnv } = {}
): Promise<ConsoleSession> {
  const streams = options.streamsTarget ? await startStreamsTarget(options.streamsTarget) : null;
  const stack = await startConsoleStack({ ...options.env, ...streams?.env }).catch(async (error: unknown) => {
    await streams?.harness.close();
    throw error;
  });
  await streams?.register(stack.config.home);
  const browser = await launchChromium();
  const app = new pg.Pool({ connectionString: stack.urls.postgres('app'), max: 2 });
  const ops = new pg.Pool({ connectionString: stack.urls.postgres('syncscope'), max: 2 });
  const page = await (await browser.newContext()).newPage();
  await signIn(page, stack.urls.console!, credentialsOf(stack, role));
  return {
    stack,
    browser,
    page,
    app,
    ops,
    streams,
    async close() {
      await app.end();
      await ops.end();
      await browser.close();
      await stack.stop();
      await streams?.harness.close();
    }
  };
}
