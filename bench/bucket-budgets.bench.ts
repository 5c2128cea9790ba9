/**
 * Bucket budgets of N users (default 100,000) holding 1–1,200 buckets each (about 600 on average, a
 * user-id lookup over ~60M parameter rows made with generate_series): `syncscope rules budgets` as the
 * CLI and agent run it (one read-only snapshot, users table via user_search), against a plain
 * `SELECT count(*)` of the parameter rows in the same run. First without a key over (user_id,
 * project_id) (distinct buckets are groups of a GROUP BY), then with the primary key a membership
 * table usually has (rows are buckets). Median of several runs (`--unkeyed-runs`, default 1: each
 * takes minutes at 60M rows); `--explain` prints where time goes. The budgets run with a 30 min statement
 * timeout here (the CLI and agent allow 60 s).
 *
 *   npx tsx bench/bucket-budgets.bench.ts [--users 100000] [--runs 3] [--unkeyed-runs 1] [--explain]
 */
import { parseArgs } from 'node:util';
import { budgetSources, perUserSql } from '@syncscope/core/rules-insight/budgets/budget-sources';
import { readBudgets } from '@syncscope/core/rules-insight/budgets/read-budgets';
import { withRulesAnalysis } from '@syncscope/core/rules-insight/coverage/with-rules-analysis';
import { userSearchAccess } from '@syncscope/core/source-access/source-access';
import pg from 'pg';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, timed } from './lib/stats.ts';

const RULES = `bucket_definitions:
  by_project:
    parameters: SELECT project_id FROM project_members WHERE user_id = request.user_id()
    data:
      - SELECT * FROM tasks WHERE project_id = bucket.project_id
`;

/** User i holds 1–1,200 projects, spread evenly by a hash of i (the same every run). */
async function seed(pool: pg.Pool, users: number): Promise<number> {
  await pool.query(
    `CREATE TABLE users (id text PRIMARY KEY);
     CREATE TABLE project_members (user_id text NOT NULL, project_id text NOT NULL);
     CREATE TABLE tasks (id text PRIMARY KEY, project_id text NOT NULL);`
  );
  await pool.query(`INSERT INTO users SELECT 'u' || i FROM generate_series(1, $1::int) i`, [users]);
  await pool.query(
    `INSERT INTO project_members SELECT 'u' || u, 'p' || p
     FROM generate_series(1, $1::int) u, generate_series(1, 1 + (hashint4(u) & 2147483647) % 1200) p`,
    [users]
  );
  await pool.query('VACUUM ANALYZE project_members');
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM project_members');
  return rows[0].n;
}

const SETTINGS = { statementTimeoutMs: 30 * 60_000 };

async function explain(target: Parameters<typeof readBudgets>[0]): Promise<void> {
  await withRulesAnalysis(target, SETTINGS, async (session, analysis) => {
    const { perUser } = await budgetSources(session.client, analysis);
    const { rows } = await session.client.query(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) SELECT count(*) FROM (${perUserSql(analysis, perUser)}) x`
    );
    console.log(rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n'));
  });
}

async function measure(
  label: string,
  pool: pg.Pool,
  target: Parameters<typeof readBudgets>[0],
  runs: number,
  rows: number
) {
  const scanMs: number[] = [];
  const budgetMs: number[] = [];
  let max = 0;
  for (let run = 0; run < runs; run++) {
    scanMs.push((await timed(() => pool.query('SELECT count(*) FROM project_members'))).ms);
    const b = await timed(() => readBudgets(target, SETTINGS));
    budgetMs.push(b.ms);
    max = b.value.buckets.max;
    if (run === 0)
      console.log(
        `  ${b.value.users} users, p50 ${b.value.buckets.p50}, max ${max}, over ${b.value.over.map((o) => `${o.threshold}: ${o.users}`).join(', ')}`
      );
  }
  const scan = median(scanMs);
  const budget = median(budgetMs);
  console.log(
    `${label}, median of ${runs}: budgets ${fmt(budget, 0)} ms (${fmt(rows / (budget / 1000), 0)} rows/s) | plain count(*) ${fmt(scan, 0)} ms | ratio ${fmt(budget / scan, 2)}× (goal ≤ 3×)`
  );
}

async function main() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      runs: { type: 'string', default: '3' },
      'unkeyed-runs': { type: 'string', default: '1' },
      explain: { type: 'boolean', default: false }
    }
  });
  const users = Number(values.users);
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  try {
    const url = await pgs.createDatabase('bucket_budgets');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const seeded = await timed(() => seed(pool, users));
    console.log(
      `${fmt(users, 0)} users, ${fmt(seeded.value, 0)} parameter rows (seeded in ${fmt(seeded.ms / 1000, 0)} s)`
    );
    const target = {
      sourceUrl: url,
      syncRulesYaml: RULES,
      userSearch: userSearchAccess({ table: 'users', id_column: 'id' })
    };
    const unkeyedRuns = Number(values['unkeyed-runs']);
    // --unkeyed-runs 0 measures only the keyed table (the unkeyed case takes minutes at 100,000 users).
    if (unkeyedRuns > 0) {
      await measure('no key over (user_id, project_id)', pool, target, unkeyedRuns, seeded.value);
      if (values.explain) await explain(target);
    }
    await pool.query('ALTER TABLE project_members ADD PRIMARY KEY (user_id, project_id)');
    await measure('primary key (user_id, project_id)', pool, target, runs, seeded.value);
    if (values.explain) await explain(target);
    await pool.end();
  } finally {
    await pgs.stop();
  }
}

await main();
