/**
 * Coverage and lint of the demo rules over N records (default 1M): `syncscope rules coverage` and
 * `rules lint` as the CLI runs them (one read-only snapshot), against a plain `SELECT count(*)` of the
 * records table plus the memberships table (the scans coverage cannot avoid), in the same run. Median of
 * several runs.
 *
 *   npx tsx bench/rules-coverage.bench.ts [--records 1000000] [--runs 3]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readCoverage } from '@syncscope/core/rules-insight/coverage/with-rules-analysis';
import { readLintFindings } from '@syncscope/core/rules-insight/lint/lint-rules';
import { userSearchAccess } from '@syncscope/core/source-access/source-access';
import { applyDemoSchema } from '@syncscope/demo/schema/index';
import { seedDemoData } from '@syncscope/demo/seed/index';
import pg from 'pg';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median, timed } from './lib/stats.ts';

const RULES = new URL('../powersync/sync_rules.yaml', import.meta.url);

async function main() {
  const { values } = parseArgs({
    options: { records: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } }
  });
  const records = Number(values.records);
  const runs = Number(values.runs);
  const pgs = await startBenchPostgres();
  try {
    const url = await pgs.createDatabase('rules_coverage');
    const pool = new pg.Pool({ connectionString: url });
    await applyDemoSchema(pool);
    await seedDemoData(pool, { records });
    await pool.query('ANALYZE');
    const target = {
      sourceUrl: url,
      syncRulesYaml: await readFile(RULES, 'utf8'),
      userSearch: userSearchAccess({ table: 'users', id_column: 'id' })
    };
    const coverageMs: number[] = [];
    const lintMs: number[] = [];
    const scanMs: number[] = [];
    let uncovered = -1;
    for (let run = 0; run < runs; run++) {
      scanMs.push(
        (
          await timed(() =>
            pool.query('SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM workspace_memberships)')
          )
        ).ms
      );
      const c = await timed(() => readCoverage(target));
      coverageMs.push(c.ms);
      uncovered = c.value.tables.reduce((sum, t) => sum + t.rowsInNoBucket, 0);
      lintMs.push((await timed(() => readLintFindings(target))).ms);
    }
    await pool.end();
    const scan = median(scanMs);
    console.log(
      `demo rules over ${fmt(records, 0)} records, median of ${runs} runs (${uncovered} rows in no bucket)`
    );
    console.log(
      `coverage ${fmt(median(coverageMs), 0)} ms (${fmt(records / (median(coverageMs) / 1000), 0)} records/s) | ` +
        `lint ${fmt(median(lintMs), 0)} ms | plain count(*) of records + memberships ${fmt(scan, 0)} ms | ` +
        `ratio coverage ${fmt(median(coverageMs) / scan, 2)}×, lint ${fmt(median(lintMs) / scan, 2)}×`
    );
  } finally {
    await pgs.stop();
  }
}

await main();
