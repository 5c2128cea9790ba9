/**
 * Probe expected-state throughput for one user holding N records (default 100k), computed as the probe does
 * (rows spilled to a temporary SQLite table and indexed for the merge diff), against reading the same
 * rows with a plain streamed SELECT (a cursor, FETCH 5000, values as text) in the same run. Two cases:
 *
 *  - full scan: a rule whose filter cannot be pushed down (`lower(workspace_id) = bucket.workspace_id`);
 *    the table holds only the user's rows; baseline: `SELECT * FROM records` through a cursor.
 *  - pushdown: `workspace_id = bucket.workspace_id` over a table with 4× as many other rows and an index;
 *    baseline: the indexed query itself, `SELECT * FROM records WHERE workspace_id = 'ws-1'`.
 *
 * Goals: full scan ≥ 0.5× the plain scan's rate; pushdown within 2× of the indexed query.
 *
 *   npx tsx bench/expected-state.bench.ts [--records 100000] [--runs 3]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { computeExpectedState } from '@syncscope/core/probe/expected/compute-expected-state';
import { SpilledExpectedRows } from '@syncscope/core/probe/expected/expected-rows';
import { ExpectedStateWorker } from '@syncscope/core/probe/expected/expected-state-worker';
import { defaultPartitionHelperCount } from '@syncscope/core/probe/expected/partitioned-scan';
import { rawTextTypes } from '@syncscope/core/probe/expected/source-session';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import pg from 'pg';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, timed } from './lib/stats.ts';

const rulesFor = (filter: string) =>
  loadSyncRules(`bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE ${filter}
`);

const schemaSql = (mine: number, others: number) => `
CREATE TABLE workspace_memberships(id text primary key, user_id text, workspace_id text, role text);
CREATE TABLE records(id text primary key, workspace_id text, title text, amount numeric, category_id text, created_at timestamptz);
INSERT INTO workspace_memberships VALUES ('m1', 'u-bench', 'ws-1', 'owner');
INSERT INTO records SELECT 'rec-' || i, CASE WHEN i <= ${mine} THEN 'ws-1' ELSE 'ws-' || (2 + i % 50) END,
  'Record number ' || i, (i * 1.25)::numeric(12, 3), 'cat-' || (i % 10 + 1),
  timestamptz '2026-01-01 00:00:00+00' + (i || ' seconds')::interval
  FROM generate_series(1, ${mine + others}) i;
CREATE INDEX ON records(workspace_id);`;

async function setup(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(sql);
    await client.query('VACUUM ANALYZE records');
  } finally {
    await client.end();
  }
}

/** The baseline: the same rows through a cursor, FETCH 5000, every value as text, nothing else. */
async function plainScan(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, types: rawTextTypes });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`DECLARE plain NO SCROLL CURSOR FOR ${sql}`);
    let rows = 0;
    for (;;) {
      const batch = await client.query('FETCH 5000 FROM plain');
      if (batch.rows.length === 0) break;
      rows += batch.rows.length;
    }
    await client.query('COMMIT');
    return rows;
  } finally {
    await client.end();
  }
}

type Computed = { rows: { size: number; close(): void }; scans: { phase: string; mode: string }[] };

async function benchCase(
  url: string,
  label: string,
  rules: ReturnType<typeof rulesFor>,
  baselineSql: string,
  baselineLabel: string,
  expected: number,
  runs: number,
  goal: (ratio: number) => string
) {
  const ways: Record<string, () => Promise<Computed>> = {
    // As the agent computes it: on its kept thread, large tables in partitions on its helper threads.
    agent: () => agentWorker.compute({ sourceUrl: url, rules, userId: 'u-bench' }),
    // One thread alone, for reference: rows spilled to a temporary SQLite table, as the probe does.
    'one thread': () =>
      computeExpectedState({ sourceUrl: url, rules, userId: 'u-bench', rows: SpilledExpectedRows.create() })
  };
  const ms: Record<string, number[]> = { plain: [], agent: [], 'one thread': [] };
  let mode = '';
  await ways.agent!().then((warm) => warm.rows.close()); // the agent's threads are started and warm
  for (let run = 0; run < runs; run++) {
    const plain = await timed(() => plainScan(url, baselineSql));
    if (plain.value !== expected)
      throw new Error(`plain scan read ${plain.value} rows, expected ${expected}`);
    ms.plain!.push(plain.ms);
    for (const [way, compute] of Object.entries(ways)) {
      const probe = await timed(compute);
      probe.value.rows.close();
      if (probe.value.rows.size !== expected)
        throw new Error(`${way}: expected state has ${probe.value.rows.size} rows, expected ${expected}`);
      mode = probe.value.scans.find((s) => s.phase === 'data')?.mode ?? '?';
      ms[way]!.push(probe.ms);
    }
  }
  const rate = (way: string) => expected / (median(ms[way]!) / 1000);
  const line = (way: string) =>
    `${way} ${fmt(median(ms[way]!), 0)} ms = ${fmt(rate(way), 0)} rows/s (${fmt(rate(way) / rate('plain'), 2)}×)`;
  const ratio = rate('agent') / rate('plain');
  console.log(
    `${label} (data read: ${mode}): expected state ${line('agent')}, ${line('one thread')} | ` +
      `${baselineLabel} ${fmt(median(ms.plain!), 0)} ms = ${fmt(rate('plain'), 0)} rows/s | ratio ${fmt(ratio, 2)}× ${goal(ratio)}`
  );
}

const agentWorker = new ExpectedStateWorker();

async function main() {
  const { values } = parseArgs({
    options: { records: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } }
  });
  const records = Number(values.records);
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  try {
    console.log(
      `expected state of one user holding ${fmt(records, 0)} records, median of ${runs} runs; ` +
        `${os.availableParallelism()} cores, ${defaultPartitionHelperCount()} partition helper thread(s)`
    );
    const fullUrl = await pgs.createDatabase('bench_expected_full');
    await setup(fullUrl, schemaSql(records, 0));
    await benchCase(
      fullUrl,
      'full scan',
      rulesFor('lower(workspace_id) = bucket.workspace_id'),
      'SELECT * FROM records',
      'plain SELECT (cursor)',
      records,
      runs,
      (r) => `(goal ≥ 0.5×: ${r >= 0.5 ? 'met' : 'NOT met'})`
    );

    const pushUrl = await pgs.createDatabase('bench_expected_pushdown');
    await setup(pushUrl, schemaSql(records, records * 4));
    await benchCase(
      pushUrl,
      'pushdown',
      rulesFor('workspace_id = bucket.workspace_id'),
      "SELECT * FROM records WHERE workspace_id = 'ws-1'",
      'indexed query (cursor)',
      records,
      runs,
      (r) => `(goal ≥ 0.5×, i.e. within 2×: ${r >= 0.5 ? 'met' : 'NOT met'})`
    );
  } finally {
    await agentWorker.close();
    await pgs.stop();
  }
}

await main();
