/**
 * Upload errors: (1) ingest throughput of reported failed operations, through the console's HTTP API and
 * through its storage path alone, against a plain multi-row INSERT of the same rows in the same run;
 * (2) the upload-errors pages' LCP in Chromium with 1M stored errors (goal ≤ 1 s: aggregates in the
 * database, not in the browser).
 *
 *   npx tsx bench/upload-errors.bench.ts [--runs 3] [--operations 20000] [--stored 1000000]
 */
import { parseArgs } from 'node:util';
import { createIngestKey } from '@syncscope/core/upload-errors/ingest-keys';
import { IngestQueue } from '@syncscope/core/upload-errors/ingest-queue';
import type { UploadReport } from '@syncscope/core/upload-errors/ingest-report';
import type pg from 'pg';
import { measurePage, type PageTiming, startConsoleUnderTest } from './lib/console-under-test.ts';
import { fmt, median, timed } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    operations: { type: 'string', default: '20000' },
    stored: { type: 'string', default: '1000000' }
  }
});
const runs = Number(values.runs);
const operations = Number(values.operations);
const stored = Number(values.stored);
const PER_REPORT = 100;

function reports(run: number): UploadReport[] {
  return Array.from({ length: operations / PER_REPORT }, (_, r) => ({
    version: 1 as const,
    reportId: `run-${run}-report-${r}`,
    userId: `user-${r % 500}`,
    clientId: `client-${r % 800}`,
    occurredAt: new Date().toISOString(),
    results: Array.from({ length: PER_REPORT }, (_, i) => ({
      index: i,
      table: i % 2 ? 'records' : 'categories',
      id: `${run}-${r}-${i}`,
      op: 'PUT',
      ok: false,
      retryable: i % 5 === 0,
      code: `DEMO_E_${i % 20}`,
      detail: `rule ${i % 20} failed for row ${r * PER_REPORT + i} in workspace ${crypto.randomUUID()}`,
      data: { title: `Record ${i}`, amount: i, password: 'hunter2' }
    }))
  }));
}

/** The baseline: the same failed operations as plain rows, multi-row INSERTs of 5,000. */
async function plainInsert(ops: pg.Pool, batch: UploadReport[]): Promise<void> {
  const rows = batch.flatMap((report) =>
    report.results.map((r) => ({
      report_id: report.reportId,
      op_index: r.index,
      user_id: report.userId,
      client_id: report.clientId,
      table_name: r.table,
      row_id: r.id,
      op: r.op,
      code: r.code,
      detail: r.detail,
      retryable: r.retryable,
      data: r.data
    }))
  );
  for (let i = 0; i < rows.length; i += 5000)
    await ops.query(
      `INSERT INTO bench_plain_errors SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(report_id text, op_index int,
         user_id text, client_id text, table_name text, row_id text, op text, code text, detail text, retryable boolean, data jsonb)`,
      [JSON.stringify(rows.slice(i, i + 5000))]
    );
}

async function postAll(url: string, key: string, batch: UploadReport[], concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const report = batch[next++]!;
      for (;;) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(report)
        });
        if (response.status === 429) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (!response.ok) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function seedStoredErrors(ops: pg.Pool, n: number): Promise<string> {
  await ops.query(
    `INSERT INTO syncscope.upload_error_groups (target, table_name, detail_pattern, retryable, example_detail,
      occurrences, first_seen, last_seen)
    SELECT 'demo', CASE WHEN g % 2 = 0 THEN 'records' ELSE 'categories' END, 'error pattern ' || g || ' for <uuid>',
      g % 3 = 0, 'error pattern ' || g, $1 / 100, now() - interval '30 days', now() - make_interval(mins => g)
    FROM generate_series(1, 100) g`,
    [n]
  );
  await ops.query(
    `INSERT INTO syncscope.upload_errors (group_id, target, report_id, op_index, occurred_at, user_id, client_id,
      table_name, row_id, op, code, detail, retryable, data)
    SELECT g.id, 'demo', 'seed-' || n, 0, now() - make_interval(secs => n * 2.5), 'user-' || (n % 5000), 'client-' || (n % 9000),
      g.table_name, 'row-' || n, 'PUT', 'DEMO_E_X', g.example_detail || ' row ' || n, g.retryable, '{"title":"x"}'
    FROM generate_series(1, $1) n
    JOIN (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k FROM syncscope.upload_error_groups WHERE target = 'demo') g
      ON g.k = n % 100`,
    [n]
  );
  await ops.query(`INSERT INTO syncscope.upload_error_hourly (group_id, hour, occurrences)
    SELECT group_id, date_trunc('hour', occurred_at), count(*) FROM syncscope.upload_errors WHERE target = 'demo' GROUP BY 1, 2`);
  await ops.query(`INSERT INTO syncscope.upload_error_streaks (target, client_id, table_name, row_id, op, user_id, failures,
      first_failed_at, last_failed_at, last_detail, last_retryable, last_group_id)
    SELECT 'demo', 'client-' || s, 'records', 'row-' || s, 'PUT', 'user-' || s, 3 + s % 10, now() - interval '2 hours',
      now() - make_interval(mins => s), 'lock timeout', true,
      (SELECT min(id) FROM syncscope.upload_error_groups WHERE target = 'demo') FROM generate_series(1, 20) s`);
  await ops.query('ANALYZE');
  return (
    await ops.query<{ id: string }>(
      'SELECT id FROM syncscope.upload_error_groups ORDER BY last_seen DESC LIMIT 1'
    )
  ).rows[0]!.id;
}

async function main() {
  const consoleUnderTest = await startConsoleUnderTest();
  const { ops } = consoleUnderTest;
  try {
    await ops.query(`CREATE TABLE bench_plain_errors (report_id text, op_index int, user_id text, client_id text,
      table_name text, row_id text, op text, code text, detail text, retryable boolean, data jsonb)`);
    const { key } = await createIngestKey(ops, { target: 'bench', label: 'bench', createdBy: 'bench' });
    const url = `${consoleUnderTest.url}/api/ingest/v1/upload-results`;
    const queue = new IngestQueue(ops, { maxPendingOperations: 1_000_000, maxBatchOperations: 5000 });
    const plain: number[] = [];
    const http: number[] = [];
    const storage: number[] = [];
    for (let run = 0; run < runs; run++) {
      plain.push((await timed(() => plainInsert(ops, reports(run)))).ms);
      http.push((await timed(() => postAll(url, key, reports(100 + run)))).ms);
      const batch = reports(200 + run);
      storage.push(
        (
          await timed(() =>
            Promise.all(batch.map((report) => queue.submit({ target: 'bench-direct', report })))
          )
        ).ms
      );
    }
    const rate = (ms: number) => (operations / ms) * 1000;
    const base = rate(median(plain));
    console.log(
      `\nIngest of ${fmt(operations)} failed operations (${operations / PER_REPORT} reports), median of ${runs}:`
    );
    console.log(`  plain multi-row INSERT (baseline)     ${fmt(rate(median(plain)), 0).padStart(8)} ops/s`);
    console.log(
      `  ingest API over HTTP (16 concurrent)  ${fmt(rate(median(http)), 0).padStart(8)} ops/s  (${fmt(rate(median(http)) / base, 2)}× baseline)`
    );
    console.log(
      `  ingest storage path alone             ${fmt(rate(median(storage)), 0).padStart(8)} ops/s  (${fmt(rate(median(storage)) / base, 2)}× baseline)`
    );

    const seeded = await timed(() => seedStoredErrors(ops, stored));
    console.log(`\nseeded ${fmt(stored)} stored errors in ${fmt(seeded.ms / 1000)} s`);
    const page = await consoleUnderTest.signIn();
    const pages = {
      'sign-in page (baseline)': `${consoleUnderTest.url}/login`,
      'upload errors (1M stored)': `${consoleUnderTest.url}/uploads`,
      'one group (10k occurrences)': `${consoleUnderTest.url}/uploads/${seeded.value}`
    };
    for (const u of Object.values(pages)) await measurePage(page, u);
    const results: Record<string, PageTiming[]> = {};
    for (let i = 0; i < 5; i++)
      for (const [name, u] of Object.entries(pages))
        results[name] = [...(results[name] ?? []), await measurePage(page, u)];
    const baseline = median(results['sign-in page (baseline)']!.map((r) => r.lcp));
    console.log('median of 5 page loads:');
    for (const [name, t] of Object.entries(results)) {
      const lcp = median(t.map((x) => x.lcp));
      console.log(
        `  ${name.padEnd(30)} LCP ${fmt(lcp, 0).padStart(5)} ms (${fmt(lcp / baseline, 2)}× baseline)  interactive ${fmt(median(t.map((x) => x.interactive)), 0).padStart(5)} ms  ${lcp <= 1000 ? 'goal met' : 'GOAL MISSED (≤ 1000 ms)'}`
      );
    }
  } finally {
    await consoleUnderTest.stop();
  }
}

await main();
