import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import type { ProbeReport, RowDifference } from '../probe/probe-types.ts';
import { probeReportFixture } from '../testing/probe-report-fixture.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { expandCompactReport } from './compact-report.ts';

const HOUR = '2026-03-02T10:00:00.000Z';
const at = (minute: number) => `2026-03-02T10:${String(minute).padStart(2, '0')}:00.000Z`;

const diff = (
  table: string,
  buckets: string[],
  settled: RowDifference['settled'] = 'persisted'
): RowDifference => ({
  kind: 'missing',
  table,
  id: `${table}-${buckets.join()}-${settled}`,
  buckets,
  settled,
  explanation: 'x'
});

const run = (verdict: ProbeReport['verdict'], overrides: Partial<ProbeReport> = {}) =>
  probeReportFixture(verdict, { target: 'fleet', startedAt: at(5), ...overrides });

let url: string;
let ops: OpsDatabase;

beforeAll(async () => {
  url = await createTestDatabase('fleet_rollups');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops?.close());

async function hourly(target: string) {
  const { rows } = await ops.pool.query(
    `SELECT kind, consistent, mismatch, inconclusive, error, rows_checked::int, row_differences::int
     FROM syncscope.probe_run_hourly WHERE target = $1 AND hour = $2 ORDER BY kind`,
    [target, HOUR]
  );
  return rows;
}

describe('the hourly rollup of probe runs', () => {
  it('counts verdicts, rows checked, and the tables and rules behind persisted differences', async () => {
    await ops.recordProbeRun(
      run('consistent', { rows: { expected: 120, actual: 120, perTable: {}, differences: [] } })
    );
    await ops.recordProbeRun(
      run('mismatch', {
        startedAt: at(59),
        rows: {
          expected: 80,
          actual: 78,
          perTable: {},
          differences: [
            diff('todos', ['1#by_list["l1"]', '1#by_owner["u1"]']),
            diff('todos', ['1#by_list["l2"]']),
            diff('lists', ['1#by_list["l1"]']),
            // Cleared within the settle window: lag, not a difference.
            diff('lists', ['1#by_owner["u1"]'], 'cleared')
          ],
          differenceCounts: { missing: 40, extra: 2, different: 1 },
          differencesOmitted: 40
        },
        buckets: {
          expected: [],
          actual: [],
          overLimit: false,
          differences: [{ kind: 'missing', bucket: '1#by_owner["u2"]', explanation: 'x' }]
        }
      })
    );
    await ops.recordProbeRun(run('inconclusive', { startedAt: at(30) }));
    await ops.recordProbeRun(run('mismatch', { startedAt: '2026-03-02T11:00:00.000Z' }));

    expect(await hourly('fleet')).toEqual([
      {
        kind: 'read',
        consistent: 1,
        mismatch: 1,
        inconclusive: 1,
        error: 0,
        rows_checked: 200,
        row_differences: 43
      }
    ]);
    const { rows } = await ops.pool.query(
      `SELECT dimension, name, differences::int, runs FROM syncscope.probe_run_hourly_differences
       WHERE target = 'fleet' AND hour = $1 ORDER BY dimension, name`,
      [HOUR]
    );
    expect(rows).toEqual([
      { dimension: 'rule', name: 'by_list', differences: 3, runs: 1 },
      { dimension: 'rule', name: 'by_owner', differences: 2, runs: 1 },
      { dimension: 'table', name: 'lists', differences: 1, runs: 1 },
      { dimension: 'table', name: 'todos', differences: 2, runs: 1 }
    ]);
  });

  it('stays exact when several agents store runs into the same hour at once', async () => {
    const agents = Array.from({ length: 4 }, () => new OpsDatabase(url));
    const verdicts: ProbeReport['verdict'][] = ['consistent', 'mismatch', 'inconclusive', 'error'];
    try {
      await Promise.all(
        agents.map((agent, a) =>
          Promise.all(
            Array.from({ length: 25 }, (_, i) =>
              agent.recordProbeRun(
                run(verdicts[(a + i) % 4]!, {
                  target: 'busy',
                  startedAt: at(i),
                  rows: {
                    expected: 10,
                    actual: 9,
                    perTable: {},
                    differences: [diff(`t${i % 3}`, ['1#b["x"]'])],
                    differenceCounts: { missing: 1, extra: 0, different: 0 }
                  }
                })
              )
            )
          )
        )
      );
    } finally {
      await Promise.all(agents.map((agent) => agent.close()));
    }
    expect(await hourly('busy')).toEqual([
      {
        kind: 'read',
        consistent: 25,
        mismatch: 25,
        inconclusive: 25,
        error: 25,
        rows_checked: 1000,
        row_differences: 100
      }
    ]);
    const { rows } = await ops.pool.query(
      `SELECT name, differences::int FROM syncscope.probe_run_hourly_differences
       WHERE target = 'busy' AND dimension = 'table' ORDER BY name`
    );
    // t0 is in runs i = 0, 3, …, 24 of each agent (9 each), t1 and t2 in 8 each.
    expect(rows).toEqual([
      { name: 't0', differences: 36 },
      { name: 't1', differences: 32 },
      { name: 't2', differences: 32 }
    ]);
  });
});

describe('compact storage of consistent runs', () => {
  const buckets = Array.from({ length: 200 }, (_, i) => `1#by_list["list-${i}"]`).concat('1#global[]');
  const consistent = run('consistent', {
    userId: 'u-compact',
    summary: 'Consistent: 200 rows in 201 buckets.',
    subscriptions: [{ stream: 'todos', parameters: { list: 'l1' }, priority: null }],
    buckets: { expected: buckets, actual: buckets, differences: [], overLimit: false },
    rows: { expected: 200, actual: 200, perTable: { todos: { expected: 200, actual: 200 } }, differences: [] }
  });

  it('stores a consistent read run without its bucket lists, and gives back what its page shows', async () => {
    const id = await ops.recordProbeRun(consistent);
    const { rows } = await ops.pool.query(
      `SELECT target, user_id AS "userId", verdict, summary, started_at AS "startedAt", duration_ms AS "durationMs",
         subscriptions, report, pg_column_size(report) AS bytes FROM syncscope.probe_runs WHERE id = $1`,
      [id]
    );
    const stored = rows[0];
    expect(stored.report.compact).toBe(true);
    expect(JSON.stringify(stored.report)).not.toContain('list-7');
    expect(stored.bytes).toBeLessThan(Buffer.byteLength(JSON.stringify(consistent)) / 4);

    const expanded = expandCompactReport(stored.report, stored);
    expect(expanded.compactBuckets).toEqual({
      expectedCount: 201,
      actualCount: 201,
      byRule: { by_list: 200, global: 1 },
      overLimit: false
    });
    // Everything the result page shows; the token's expiry and audience and the sync's timing are not kept.
    const { buckets: _b, token, sync, ...rest } = consistent;
    const { buckets: _e, compactBuckets: _c, token: backToken, sync: backSync, ...back } = expanded;
    expect(back).toEqual(rest);
    expect(backToken).toEqual({ kid: token.kid, jti: token.jti, expiresAt: '', audience: '' });
    expect(backSync).toEqual({ kind: sync.kind });
  });

  it('keeps a mismatch whole', async () => {
    const mismatch = { ...consistent, verdict: 'mismatch' as const };
    const id = await ops.recordProbeRun(mismatch);
    const { rows } = await ops.pool.query('SELECT report FROM syncscope.probe_runs WHERE id = $1', [id]);
    expect(rows[0].report).toEqual(mismatch);
  });
});
