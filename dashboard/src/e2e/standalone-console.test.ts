import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '@syncscope/core';
import { upsertConsoleUser } from '@syncscope/core/console-users/console-grants';
import { migrateOpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { type ManagedChild, spawnNode, waitForHttp } from '@syncscope/demo/stack/child-process';
import { ensureConsoleBuilt } from '@syncscope/demo/stack/console-build';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, REPO_ROOT, screenshot, signIn } from './console-stack.ts';

const ADMIN = { email: 'image-admin@example.com', password: 'standalone-console-password-1' };

/**
 * The console as its image runs it: Next's standalone output assembled by scripts/assemble-console.mjs
 * into a folder outside the repository (so nothing resolves from the repo's node_modules), started with
 * plain `node dashboard/server.mjs`, no `next build` at start.
 */
describe('the standalone console (the console image)', () => {
  let dir: string;
  let server: ManagedChild;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    await ensureConsoleBuilt(REPO_ROOT, () => {});
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-console-image-'));
    execFileSync(process.execPath, ['scripts/assemble-console.mjs', dir], { cwd: REPO_ROOT, stdio: 'pipe' });
    const opsUrl = await createTestDatabase('standalone_console_ops');
    await migrateOpsDatabase(opsUrl);
    const pool = new pg.Pool({ connectionString: opsUrl, max: 1 });
    await upsertConsoleUser(pool, { ...ADMIN, role: 'admin' }, 'standalone console test').finally(() =>
      pool.end()
    );
    const port = await findFreePort();
    url = `http://127.0.0.1:${port}`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SYNCSCOPE_')));
    server = spawnNode([path.join(dir, 'dashboard', 'server.mjs'), '-p', String(port), '-H', '127.0.0.1'], {
      cwd: dir,
      env: { ...env, NODE_ENV: 'production', SYNCSCOPE_OPS_DATABASE_URL: opsUrl }
    });
    await waitForHttp(server, `${url}/login`, 'The standalone console');
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds no sources, no next.config and no build tools: only the traced server files', () => {
    expect(existsSync(path.join(dir, 'dashboard', 'src'))).toBe(false);
    expect(existsSync(path.join(dir, 'dashboard', 'next.config.ts'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules', 'next', 'dist', 'server', 'next-server.js'))).toBe(true);
  });

  it('serves the sign-in page with its styles, signs an admin in, and keeps its security headers', async () => {
    const response = await fetch(`${url}/login`);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-powered-by')).toBeNull();
    const page = await (await browser.newContext()).newPage();
    const assets: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/_next/static/')) assets.push(r.status());
    });
    await page.goto(`${url}/login`);
    await expect(page.getByRole('button', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    expect(assets.length).toBeGreaterThan(0);
    expect(assets.filter((status) => status !== 200)).toEqual([]);
    await screenshot(page, 'standalone-console-login');
    await signIn(page, url, ADMIN);
    expect(await page.getByTestId('signed-in-as').textContent()).toContain(ADMIN.email);
    await screenshot(page, 'standalone-console-overview');
  });
});
