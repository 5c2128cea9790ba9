import { parseArgs } from 'node:util';
import {
  claimProbeJob,
  enqueueProbeJob,
  leaseOf,
  reportProbeProgress
} from '@syncscope/core/probe-jobs/probe-jobs';
import type pg from 'pg';
import type { Page } from 'playwright-core';
import { seedProbeRuns } from './lib/console-dataset.ts';
import { measurePage, type PageTiming, startConsoleUnderTest } from './lib/console-under-test.ts';
import { fmt, median, percentile } from './lib/stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

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
  const claimed = await claimProbeJob(ops, 'bench-agent');
  if (claimed?.id !== job.id) throw new Error('the bench job was not the one claimed');
  for (let i = 0; i < events; i++) {
    await reportProbeProgress(ops, leaseOf(claimed), { phase: 'sync', ops: { done: i, total: events } });
    await new Promise((r) => setTimeout(r, 50));
  }
  await page.waitForTimeout(300);
  return page.evaluate(
    () => (window as { __syncscopeEventLatencies?: number[] }).__syncscopeEventLatencies ?? []
  );
}

async function main() {
  const consoleUnderTest = await startConsoleUnderTest();
  const { ops, browser } = consoleUnderTest;
  const seeded = await seedProbeRuns(ops, {
    runs: 10_000,
    bigRun: { expectedRows: 100_000, differences: 5_000 }
  });
  console.log(
    `seeded ${fmt(seeded.runs)} probe runs; the big run's report is ${fmt(seeded.bigReportBytes / 1e6)} MB`
  );
  try {
    const page = await consoleUnderTest.signIn();
    const base = consoleUnderTest.url;
    const pages = {
      'sign-in page (baseline)': `${base}/login`,
      overview: `${base}/`,
      'probe result (100k expected, 5k differences)': `${base}/probes/${seeded.bigRunId}`,
      'probes list (10k results)': `${base}/probes`
    };
    for (const url of Object.values(pages)) await measurePage(page, url); // warm-up
    const results: Record<string, PageTiming[]> = {};
    for (let i = 0; i < runs; i++)
      for (const [name, url] of Object.entries(pages)) {
        results[name] = [...(results[name] ?? []), await measurePage(page, url)];
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
    const latencies = await sseLatencies(page, base, ops, 50);
    console.log(
      `\nSSE progress, agent NOTIFY → browser (${latencies.length} events): median ${fmt(median(latencies), 0)} ms, p95 ${fmt(percentile(latencies, 95), 0)} ms, max ${fmt(Math.max(...latencies), 0)} ms  ${percentile(latencies, 95) <= 200 ? 'goal met (≤ 200 ms)' : 'GOAL MISSED (≤ 200 ms)'}`
    );
  } finally {
    await consoleUnderTest.stop();
  }
}

await main();
