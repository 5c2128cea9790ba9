/**
 * The console in a real Chromium: LCP and time to interactive of the overview, a probe result with 100k
 * expected rows and 5k differences, and the probes list over 10k stored results; and SSE progress latency
 * from an agent's NOTIFY to the browser. Baseline: the sign-in page, served by the same server in the
 * same run (ratios). Goals: LCP ≤ 1 s; progress within 200 ms of NOTIFY.
 *
 *   npx tsx bench/console-performance.bench.ts [--runs 5]
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findFreePort } from '@syncscope/core';
import { upsertConsoleUser } from '@syncscope/core/console-users/console-users';
import { migrateOpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { claimProbeJob, enqueueProbeJob, reportProbeProgress } from '@syncscope/core/probe-jobs/probe-jobs';
import { ensureConsoleBuilt, startConsole } from '@syncscope/demo/stack/console-process';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { seedProbeRuns } from './lib/console-dataset.ts';
import { fmt, median, percentile } from './lib/stats.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const PASSWORD = 'bench-password-0123456789';

interface PageTiming {
  lcp: number;
  interactive: number;
}

/** Navigates and reads LCP (PerformanceObserver, buffered) and the hydration mark. */
async function measure(page: Page, url: string): Promise<PageTiming> {
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

async function signIn(browser: Browser, consoleUrl: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await page.goto(`${consoleUrl}/login`);
  await page.getByLabel('Email').fill('bench@example.com');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
  return page;
}

async function sseLatencies(page: Page, consoleUrl: string, ops: pg.Pool, events: number): Promise<number[]> {
  const job = await enqueueProbeJob(ops, {
    target: 'bench',
    userId: 'u-sse',
    reason: 'bench',
    requestedBy: 'bench'
  });
  await page.goto(`${consoleUrl}/probes/jobs/${job.id}`);
  await page.getByTestId('probe-progress').waitFor();
  await page.waitForTimeout(500); // the EventSource is open
  await claimProbeJob(ops, 'bench-agent');
  for (let i = 0; i < events; i++) {
    await reportProbeProgress(ops, job.id, 'bench-agent', { phase: 'sync', ops: { done: i, total: events } });
    await new Promise((r) => setTimeout(r, 50));
  }
  await page.waitForTimeout(300);
  return page.evaluate(
    () => (window as { __syncscopeEventLatencies?: number[] }).__syncscopeEventLatencies ?? []
  );
}

async function main() {
  const postgres = await startBenchPostgres();
  const opsUrl = await postgres.createDatabase('syncscope');
  await migrateOpsDatabase(opsUrl);
  const ops = new pg.Pool({ connectionString: opsUrl, max: 4 });
  await upsertConsoleUser(ops, { email: 'bench@example.com', role: 'admin', password: PASSWORD });
  const seeded = await seedProbeRuns(ops, {
    runs: 10_000,
    bigRun: { expectedRows: 100_000, differences: 5_000 }
  });
  console.log(
    `seeded ${fmt(seeded.runs)} probe runs; the big run's report is ${fmt(seeded.bigReportBytes / 1e6)} MB`
  );

  ensureConsoleBuilt(REPO, console.log);
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
  try {
    const page = await signIn(browser, started.url);
    const pages = {
      'sign-in page (baseline)': `${started.url}/login`,
      overview: `${started.url}/`,
      'probe result (100k expected, 5k differences)': `${started.url}/probes/${seeded.bigRunId}`,
      'probes list (10k results)': `${started.url}/probes`
    };
    for (const url of Object.values(pages)) await measure(page, url); // warm-up
    const results: Record<string, PageTiming[]> = {};
    for (let i = 0; i < runs; i++)
      for (const [name, url] of Object.entries(pages)) {
        results[name] = [...(results[name] ?? []), await measure(page, url)];
      }
    const baseline = median(results['sign-in page (baseline)']!.map((r) => r.lcp));
    console.log(`\nmedian of ${runs} runs (Chromium ${browser.version()}):`);
    for (const [name, timings] of Object.entries(results)) {
      const lcp = median(timings.map((t) => t.lcp));
      const tti = median(timings.map((t) => t.interactive));
      console.log(
        `  ${name.padEnd(46)} LCP ${fmt(lcp, 0).padStart(5)} ms (${fmt(lcp / baseline, 2)}× baseline)  interactive ${fmt(tti, 0).padStart(5)} ms  ${lcp <= 1000 ? 'goal met' : 'GOAL MISSED (≤ 1000 ms)'}`
      );
    }
    const latencies = await sseLatencies(page, started.url, ops, 50);
    console.log(
      `\nSSE progress, agent NOTIFY → browser (${latencies.length} events): median ${fmt(median(latencies), 0)} ms, p95 ${fmt(percentile(latencies, 95), 0)} ms, max ${fmt(Math.max(...latencies), 0)} ms  ${percentile(latencies, 95) <= 200 ? 'goal met (≤ 200 ms)' : 'GOAL MISSED (≤ 200 ms)'}`
    );
  } finally {
    await browser.close();
    await started.process.stop();
    await ops.end();
    await postgres.stop();
  }
}

await main();
