import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import { claimProbeJob, enqueueProbeJob, leaseOf, storeJobResult } from '../probe-jobs/probe-jobs.ts';
import { probeReportFixture } from '../testing/probe-report-fixture.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { maintainProbeRuns } from './maintain-probe-runs.ts';

const NOW = new Date('2026-03-30T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
const RETENTION = { rawRunDays: 30, batchRows: 100, pauseMs: 0 };

let ops: OpsDatabase;
let url: string;

beforeAll(async () => {
  url = await createTestDatabase('fleet_maintenance');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops?.close());

const count = async (sql: string) => Number((await ops.pool.query(sql)).rows[0].n);

describe('probe-run maintenance', () => {
  it('prunes runs past the retention in batches, with the jobs they finished, and keeps rollups and audit entries', async () => {
    for (let i = 0; i < 250; i++)
      await ops.recordProbeRun(
        probeReportFixture(i % 5 ? 'consistent' : 'mismatch', { startedAt: daysAgo(31 + (i % 3)) })
      );
    for (let i = 0; i < 7; i++)
      await ops.recordProbeRun(probeReportFixture('consistent', { startedAt: daysAgo(29) }));
    // A console job whose final run is old: the job names the run, so it goes with it.
    const job = await enqueueProbeJob(ops.pool, {
      target: 'demo',
      userId: 'u-1',
      reason: 'r',
      requestedBy: 'a@b.c'
    });
    const claimed = await claimProbeJob(ops.pool, 'agent-1');
    expect(claimed?.id).toBe(job.id);
    await storeJobResult(
      ops.pool,
      leaseOf(claimed!),
      claimed!,
      probeReportFixture('mismatch', { startedAt: daysAgo(40) })
    );
    const rollupBefore = await ops.pool.query(
      'SELECT * FROM syncscope.probe_run_hourly ORDER BY hour, target, kind'
    );
    const auditBefore = await count('SELECT count(*) AS n FROM syncscope.audit_log');

    const result = await maintainProbeRuns(ops.pool, RETENTION, { now: NOW });

    expect(result).toMatchObject({ ran: true, runsPruned: 251, jobsPruned: 1 });
    expect(result.batches).toBeGreaterThanOrEqual(3);
    expect(await count('SELECT count(*) AS n FROM syncscope.probe_runs')).toBe(7);
    expect(await count('SELECT count(*) AS n FROM syncscope.probe_jobs')).toBe(0);
    expect(
      (await ops.pool.query('SELECT * FROM syncscope.probe_run_hourly ORDER BY hour, target, kind')).rows
    ).toEqual(rollupBefore.rows);
    expect(await count('SELECT count(*) AS n FROM syncscope.audit_log')).toBe(auditBefore);
    expect(await count("SELECT count(*) AS n FROM syncscope.audit_log WHERE action = 'probe.run'")).toBe(258);
  });

  it('compacts consistent runs stored whole before migration 14', async () => {
    const whole = probeReportFixture('consistent', {
      startedAt: daysAgo(1),
      buckets: {
        expected: ['1#a[]', '1#b["x"]'],
        actual: ['1#a[]', '1#b["x"]'],
        differences: [],
        overLimit: false
      }
    });
    const { rows } = await ops.pool.query<{ id: string }>(
      `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report)
       VALUES ('demo', 'u-old', 'consistent', 's', $1, 5, $2) RETURNING id`,
      [whole.startedAt, whole]
    );
    const result = await maintainProbeRuns(ops.pool, RETENTION, { now: NOW });
    expect(result.runsCompacted).toBe(1);
    const stored = await ops.pool.query('SELECT report FROM syncscope.probe_runs WHERE id = $1', [
      rows[0]!.id
    ]);
    expect(stored.rows[0].report.buckets).toEqual({
      expectedCount: 2,
      actualCount: 2,
      byRule: { a: 1, b: 1 },
      overLimit: false
    });
  });

  it('does nothing while another agent holds the maintenance lock', async () => {
    await ops.recordProbeRun(probeReportFixture('consistent', { startedAt: daysAgo(60) }));
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock(hashtext('syncscope-probe-run-maintenance'))");
      expect(await maintainProbeRuns(ops.pool, RETENTION, { now: NOW })).toMatchObject({
        ran: false,
        runsPruned: 0
      });
      await other.query("SELECT pg_advisory_unlock(hashtext('syncscope-probe-run-maintenance'))");
      expect(await maintainProbeRuns(ops.pool, RETENTION, { now: NOW })).toMatchObject({
        ran: true,
        runsPruned: 1
      });
    } finally {
      await other.end();
    }
  });
});
