import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@syncscope/core';
import { upsertConsoleUser } from '@syncscope/core/console-users/console-grants';
import { migrateOpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { ensureConsoleBuilt } from '@syncscope/demo/stack/console-build';
import { startConsole } from '@syncscope/demo/stack/console-process';
import pg from 'pg';
import { chromium, type Page } from 'playwright-core';
import { startBenchPostgres } from './bench-postgres.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PASSWORD = 'bench-password-0123456789';

export interface PageTiming {
  lcp: number;
  interactive: number;
}

/** The console's production build on a fresh ops database, and Chromium signed in as an admin. */
export async function startConsoleUnderTest() {
  const postgres = await startBenchPostgres();
  const opsUrl = await postgres.createDatabase('syncscope');
  await migrateOpsDatabase(opsUrl);
  const ops = new pg.Pool({ connectionString: opsUrl, max: 8 });
  await upsertConsoleUser(ops, { email: 'bench@example.com', role: 'admin', password: PASSWORD }, 'bench');
  await ensureConsoleBuilt(REPO, console.log);
  const started = await startConsole({
    repoRoot: REPO,
    host: '127.0.0.1',
    port: await findFreePort(),
    env: {
      ...process.env,
      SYNCSCOPE_OPS_DATABASE_URL: opsUrl,
      SYNCSCOPE_TARGETS_FILE: path.join(REPO, 'bench', 'results', 'no-targets.yaml')
    }
  });
  const browser = await chromium.launch({
    executablePath: process.env.SYNCSCOPE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox']
  });
  return {
    url: started.url,
    opsUrl,
    ops,
    browser,
    async signIn(): Promise<Page> {
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      await page.goto(`${started.url}/login`);
      await page.getByLabel('Email').fill('bench@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('signed-in-as').waitFor();
      return page;
    },
    async stop() {
      await browser.close();
      await started.process.stop();
      await ops.end();
      await postgres.stop();
    }
  };
}

/** Navigates and reads LCP (PerformanceObserver, buffered) and when the page hydrated. */
export async function measurePage(page: Page, url: string): Promise<PageTiming> {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(
    () =>
      document.documentElement.dataset.hydratedAt !== undefined ||
      !document.querySelector('nav[aria-label=main]')
  );
  return page.evaluate(
    () =>
      new Promise<PageTiming>((resolve) => {
        new PerformanceObserver((list) => {
          const entries = list.getEntries();
          const last = entries[entries.length - 1]!;
          const hydrated = Number(document.documentElement.dataset.hydratedAt ?? Number.NaN);
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          resolve({
            lcp: last.startTime,
            interactive: Number.isNaN(hydrated) ? nav.domInteractive : hydrated
          });
        }).observe({ type: 'largest-contentful-paint', buffered: true });
      })
  );
}
