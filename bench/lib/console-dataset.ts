import type { RowDifference } from '@syncscope/core/probe/probe-types';
import { probeReportFixture } from '@syncscope/core/testing/probe-report-fixture';
import type pg from 'pg';

const VERDICTS = ['consistent', 'consistent', 'consistent', 'mismatch', 'error'];

/** One probe result as large as the console must handle: many expected rows, thousands of differences. */
function bigReport(expectedRows: number, differences: number) {
  const buckets = Array.from({ length: 50 }, (_, i) => `1#by_workspace["ws-${i}"]`);
  const rows: RowDifference[] = Array.from({ length: differences }, (_, i) => ({
    kind: i % 3 === 0 ? 'missing' : i % 3 === 1 ? 'extra' : 'different',
    table: 'records',
    id: `rec-${i.toString().padStart(6, '0')}`,
    buckets: [buckets[i % buckets.length]!],
    fields:
      i % 3 === 2 ? [{ field: 'title', expected: `Record ${i}`, actual: `Record ${i} (stale)` }] : undefined,
    settled: 'persisted',
    explanation: `records rec-${i} is in ${buckets[i % buckets.length]} per the source and the rules (rule by_workspace, sync_rules.yaml:6), and the client holds that bucket, but the row was not delivered.`
  }));
  return probeReportFixture('mismatch', {
    userId: 'u-big',
    target: 'bench',
    summary: `Mismatch: ${differences} row differences.`,
    buckets: { expected: buckets, actual: buckets, differences: [], overLimit: false },
    rows: {
      expected: expectedRows,
      actual: expectedRows - Math.round(differences / 3),
      perTable: { records: { expected: expectedRows, actual: expectedRows - Math.round(differences / 3) } },
      differences: rows
    }
  });
}

/** `runs` small results over 30 days (5 targets, 2,000 users), and one big one, newest. */
export async function seedProbeRuns(
  db: pg.Pool,
  options: { runs: number; bigRun: { expectedRows: number; differences: number } }
): Promise<{ runs: number; bigRunId: string; bigReportBytes: number }> {
  await db.query(
    `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report)
     SELECT 'target-' || (n % 5), 'user-' || (n % 2000), ($2::text[])[1 + n % 5],
            'Probe ' || n || ': ' || ($2::text[])[1 + n % 5], now() - make_interval(secs => n * 259.2),
            1000 + n % 5000, $3
     FROM generate_series(1, $1) n`,
    [options.runs - 1, VERDICTS, probeReportFixture('consistent')]
  );
  const report = bigReport(options.bigRun.expectedRows, options.bigRun.differences);
  const json = JSON.stringify(report);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report)
     VALUES ('bench', 'u-big', 'mismatch', $1, now(), 12000, $2) RETURNING id`,
    [report.summary, json]
  );
  return { runs: options.runs, bigRunId: rows[0]!.id, bigReportBytes: Buffer.byteLength(json) };
}
