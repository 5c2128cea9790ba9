/**
 * The fleet view over 1M stored runs: its LCP in Chromium against the sign-in page, bytes per stored
 * run before and after compaction, and the prune rate.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { maintainProbeRuns } from '@syncscope/core/fleet-results/maintain-probe-runs';
import type { ProbeReport, RowDifference } from '@syncscope/core/probe/probe-types';
import { probeReportFixture } from '@syncscope/core/testing/probe-report-fixture';
import type pg from 'pg';
import { measurePage, type PageTiming, startConsoleUnderTest } from './lib/console-under-test.ts';
import { fmt, median } from './lib/stats.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, stored: { type: 'string', default: '1000000' } }
});
const runs = Number(values.runs);
const stored = Number(values.stored);
const TARGETS = 5;
const USERS = 50_000;
const DAYS = 30;

/** A uuid-shaped id per `seed`, so bucket ids differ as real ones do (and compress as little). */
const uuid = (seed: string) =>
  createHash('sha1')
    .update(seed)
    .digest('hex')
    .slice(0, 32)
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');

/** A consistent read report as a user of the demo's rules would get: 200 buckets, 4 tables. */
function consistentReport(): ProbeReport {
  const buckets = Array.from({ length: 200 }, (_, i) =>
    i < 190 ? `1#by_list["${uuid(`list-${i}`)}"]` : `1#by_workspace["${uuid(`ws-${i}`)}"]`
  );
  const perTable = { lists: 50, todos: 1200, users: 1, workspaces: 3 };
  return probeReportFixture('consistent', {
    userId: 'ffffffff-0000-4000-8000-000000000000',
    summary: 'Consistent: 1,254 rows in 200 buckets match the source and the rules.',
    subscriptions: [],
    phases: { mint: 3, schema: 40, sync: 820, expected: 610, diff: 45, settle: 0, 'write-checkpoint': 120 },
    token: {
      kid: 'syncscope-probe-1',
      jti: '1f0c6c1e-5b1e-4a53-9d51-0b9f0e7f3a11',
      expiresAt: '2026-11-25T10:05:00Z',
      audience: 'syncscope-probe'
    },
    buckets: { expected: buckets, actual: buckets, differences: [], overLimit: false },
    rows: {
      expected: 1254,
      actual: 1254,
      perTable: Object.fromEntries(Object.entries(perTable).map(([t, n]) => [t, { expected: n, actual: n }])),
      differences: [],
      differenceCounts: { missing: 0, extra: 0, different: 0 },
      differencesOmitted: 0
    }
  });
}

function mismatchReport(): ProbeReport {
  const differences: RowDifference[] = ['todos', 'todos', 'lists'].map((table, i) => ({
    kind: 'missing',
    table,
    id: `row-${i}`,
    buckets: [i === 2 ? '1#by_workspace["w1"]' : '1#by_list["l1"]'],
    settled: 'persisted',
    explanation: 'the client holds the bucket, but the row was not delivered'
  }));
  const base = consistentReport();
  return {
    ...base,
    verdict: 'mismatch',
    rows: { ...base.rows, differences, differenceCounts: { missing: 3, extra: 0, different: 0 } }
  };
}

/** Relation sizes of the runs table (heap, TOAST, indexes). */
async function runsBytes(db: pg.Pool): Promise<number> {
  await db.query('VACUUM syncscope.probe_runs');
  return Number((await db.query("SELECT pg_total_relation_size('syncscope.probe_runs') AS n")).rows[0].n);
}

/** Bytes per run for `n` consistent runs stored whole (as before migration 14), then compacted. */
async function bytesPerRun(db: pg.Pool, n: number): Promise<{ whole: number; compact: number }> {
  const report = consistentReport();
  const insert = (compact: boolean) =>
    db.query(
      `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report)
       SELECT 'bytes', 'user-' || n, 'consistent', $2, now(), 1600,
         ${compact ? 'syncscope.compact_probe_report($3)' : '$3'}
       FROM generate_series(1, $1) n`,
      [n, report.summary, report]
    );
  const empty = await runsBytes(db);
  await insert(false);
  const whole = (await runsBytes(db)) - empty;
  await db.query("DELETE FROM syncscope.probe_runs WHERE target = 'bytes'");
  await db.query('VACUUM FULL syncscope.probe_runs');
  const emptyAgain = await runsBytes(db);
  await insert(true);
  const compact = (await runsBytes(db)) - emptyAgain;
  await db.query("DELETE FROM syncscope.probe_runs WHERE target = 'bytes'");
  await db.query('VACUUM FULL syncscope.probe_runs');
  return { whole: whole / n, compact: compact / n };
}

/**
 * `n` runs over 30 days (5 targets, 50k users; 96 % consistent and stored compact, 2.5 % mismatch,
 * 1 % inconclusive, 0.5 % error), rolled up by the same function the storing transaction calls.
 */
async function seedRuns(db: pg.Pool, n: number): Promise<void> {
  await db.query(
    `INSERT INTO syncscope.probe_runs (target, user_id, verdict, reason_code, summary, started_at, duration_ms, report)
     SELECT 'target-' || (n % $2), 'user-' || (n % $3), v.verdict,
       CASE WHEN v.verdict <> 'consistent' THEN 'SYNCSCOPE_E_ROWS_DIFFER' END,
       v.verdict || ' run ' || n, now() - make_interval(secs => n * ($4 * 86400.0 / $1)), 1600,
       CASE WHEN v.verdict = 'consistent' THEN syncscope.compact_probe_report($5) ELSE $6 END
     FROM generate_series(1, $1) n,
       LATERAL (SELECT CASE WHEN n % 200 < 192 THEN 'consistent' WHEN n % 200 < 197 THEN 'mismatch'
                            WHEN n % 200 < 199 THEN 'inconclusive' ELSE 'error' END AS verdict) v`,
    [n, TARGETS, USERS, DAYS, consistentReport(), mismatchReport()]
  );
  await db.query('SELECT syncscope.roll_up_probe_runs(array_agg(id)) FROM syncscope.probe_runs');
  await db.query(
    `INSERT INTO syncscope.target_population (target, users, counted_at)
     SELECT 'target-' || t, $1 / $2, now() FROM generate_series(0, $2 - 2) t`,
    [USERS, TARGETS]
  );
  await db.query(
    `INSERT INTO syncscope.canary_status (target, user_id, agent, verdict, held_since, last_checkpoint_at, last_freshness_seconds)
     SELECT 'target-' || (n % $1), 'user-' || n, 'agent-' || (n % 3), 'consistent', now() - interval '1 day',
       now() - make_interval(secs => n), 0.1 + n / 1000.0
     FROM generate_series(1, 200) n`,
    [TARGETS]
  );
  await db.query('VACUUM ANALYZE');
}

async function main() {
  const consoleUnderTest = await startConsoleUnderTest();
  const { ops, browser } = consoleUnderTest;
  try {
    const bytes = await bytesPerRun(ops, 20_000);
    console.log(
      `bytes per consistent run (heap + TOAST + indexes, 20k runs): whole ${fmt(bytes.whole, 0)}, compact ${fmt(bytes.compact, 0)} (${fmt(bytes.compact / bytes.whole, 2)}×)`
    );
    let started = performance.now();
    await seedRuns(ops, stored);
    console.log(
      `seeded ${fmt(stored)} runs and their rollups in ${fmt((performance.now() - started) / 1000, 1)} s`
    );
    const perRun = (await runsBytes(ops)) / stored;
    console.log(`ops database: ${fmt(perRun, 0)} bytes per stored run over the seeded mix`);

    const page = await consoleUnderTest.signIn();
    const pages = {
      'sign-in page (baseline)': `${consoleUnderTest.url}/login`,
      [`fleet view (${fmt(stored)} runs)`]: `${consoleUnderTest.url}/fleet`
    };
    for (const url of Object.values(pages)) await measurePage(page, url); // warm-up
    const results: Record<string, PageTiming[]> = {};
    for (let i = 0; i < runs; i++)
      for (const [name, url] of Object.entries(pages))
        results[name] = [...(results[name] ?? []), await measurePage(page, url)];
    const baseline = median(results['sign-in page (baseline)']!.map((r) => r.lcp));
    console.log(`\nmedian of ${runs} runs (Chromium ${browser.version()}):`);
    for (const [name, timings] of Object.entries(results)) {
      const lcp = median(timings.map((t) => t.lcp));
      console.log(
        `  ${name.padEnd(28)} LCP ${fmt(lcp, 0).padStart(5)} ms (${fmt(lcp / baseline, 2)}× baseline)  interactive ${fmt(median(timings.map((t) => t.interactive)), 0).padStart(5)} ms  ${lcp <= 1000 ? 'goal met' : 'GOAL MISSED (≤ 1000 ms)'}`
      );
    }

    started = performance.now();
    const pruned = await maintainProbeRuns(ops, { rawRunDays: DAYS - 10, batchRows: 5_000, pauseMs: 0 });
    const wall = (performance.now() - started) / 1000;
    console.log(
      `\nprune of runs older than ${DAYS - 10} days: ${fmt(pruned.runsPruned)} runs in ${pruned.batches} batches of 5,000, ${fmt(wall, 1)} s = ${fmt(pruned.runsPruned / wall, 0)} runs/s (no pause; with the default 200 ms pause between batches: ${fmt(pruned.runsPruned / (wall + 0.2 * (pruned.batches - 1)), 0)} runs/s)`
    );
  } finally {
    await consoleUnderTest.stop();
  }
}

await main();
