import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { ProbeReport } from '../probe/probe-types.ts';
import { probeReportFixture } from '../testing/probe-report-fixture.ts';
import { whileAuditRefuses } from '../testing/test-audit-sink.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { migrateOpsDatabase, OpsDatabase } from './ops-database.ts';

/** Every migration, in order: a new one is added here. */
const MIGRATIONS = [
  '1700000000000_probe-runs-and-audit-log',
  '1700000000001_console-users-and-probe-jobs',
  '1700000000002_upload-errors',
  '1700000000003_write-probes-and-inspections',
  '1700000000004_probe-stream-subscriptions',
  '1700000000005_console-grants',
  '1700000000006_audit-hash-chain',
  '1700000000007_probe-verdict-reasons',
  '1700000000008_probe-job-leases',
  '1700000000009_replication-health',
  '1700000000010_fleet-shared-tables',
  '1700000000011_probe-modes',
  '1700000000012_schedules',
  '1700000000014_probe-run-rollups-and-retention',
  '1700000000016_bucket-budget-runs'
];

const report = (verdict: ProbeReport['verdict']) => probeReportFixture(verdict);

describe('the ops database', () => {
  it('migrates once, then is up to date', async () => {
    const url = await createTestDatabase('ops_migrate');
    expect(await migrateOpsDatabase(url)).toEqual(MIGRATIONS);
    expect(await migrateOpsDatabase(url)).toEqual([]);
  });

  it('lets several processes migrate at once: one applies, the others wait and find nothing to do', async () => {
    const url = await createTestDatabase('ops_migrate_concurrently');
    const results = await Promise.all([
      migrateOpsDatabase(url),
      migrateOpsDatabase(url),
      migrateOpsDatabase(url)
    ]);
    expect(results.map((applied) => applied.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
  });

  it('keeps probe runs, and an audit log the application cannot edit or delete', async () => {
    const url = await createTestDatabase('ops_audit');
    await migrateOpsDatabase(url);
    const ops = new OpsDatabase(url);
    try {
      const id = await ops.recordProbeRun(report('mismatch'));
      const stored = await ops.pool.query('SELECT verdict, report FROM syncscope.probe_runs WHERE id = $1', [
        id
      ]);
      expect(stored.rows[0].verdict).toBe('mismatch');
      expect(stored.rows[0].report.version).toBe(2);

      await ops.audit({
        actor: 'cli',
        action: 'probe.token_minted',
        target: 'demo',
        subjectUser: 'u-1',
        reason: 'ticket 42',
        details: { jti: 'abc' }
      });
      await expect(ops.pool.query("UPDATE syncscope.audit_log SET reason = 'covered up'")).rejects.toThrow(
        /append-only/
      );
      await expect(ops.pool.query('DELETE FROM syncscope.audit_log')).rejects.toThrow(/append-only/);
      await expect(ops.pool.query('TRUNCATE syncscope.audit_log')).rejects.toThrow(/append-only/);
      const entries = await ops.pool.query(
        'SELECT actor, action, subject_user, reason, details FROM syncscope.audit_log ORDER BY seq'
      );
      expect(entries.rows).toEqual([
        {
          actor: 'agent',
          action: 'probe.run',
          subject_user: report('mismatch').userId,
          reason: null,
          details: {
            runId: id,
            kind: 'read',
            verdict: 'mismatch',
            reasonCode: null,
            jobId: null,
            mode: 'full'
          }
        },
        {
          actor: 'cli',
          action: 'probe.token_minted',
          subject_user: 'u-1',
          reason: 'ticket 42',
          details: { jti: 'abc' }
        }
      ]);
    } finally {
      await ops.close();
    }
  });

  it("keeps a run's stream subscriptions beside its report, also for runs stored before that column", async () => {
    const url = await createTestDatabase('ops_subscriptions');
    await runner({
      databaseUrl: url,
      dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
      direction: 'up',
      count: 4,
      migrationsTable: 'pgmigrations',
      migrationsSchema: 'public',
      log: () => {}
    });
    const subscriptions = [{ stream: 'list_todos', parameters: { list_id: 'l1' }, priority: 1 as const }];
    const before = new pg.Client({ connectionString: url });
    await before.connect();
    const old = await before.query<{ id: string }>(
      `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report)
       VALUES ('demo', 'u-1', 'consistent', 's', now(), 1, $1), ('demo', 'u-2', 'consistent', 's', now(), 1, $2)
       RETURNING id`,
      [probeReportFixture('consistent', { subscriptions }), probeReportFixture('consistent')]
    );
    await before.end();
    await migrateOpsDatabase(url);
    const ops = new OpsDatabase(url);
    try {
      const recorded = await ops.recordProbeRun(probeReportFixture('mismatch', { subscriptions }));
      const { rows } = await ops.pool.query(
        'SELECT id, subscriptions FROM syncscope.probe_runs WHERE id = ANY($1) ORDER BY user_id, recorded_at',
        [[...old.rows.map((r) => r.id), recorded]]
      );
      expect(rows.map((r) => r.subscriptions)).toEqual([subscriptions, subscriptions, []]);
    } finally {
      await ops.close();
    }
  });

  it('keeps inconclusive runs with their reason code; runs stored before keep theirs from the report', async () => {
    const url = await createTestDatabase('ops_verdict_reasons');
    await runner({
      databaseUrl: url,
      dir: path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations'),
      direction: 'up',
      count: 7,
      migrationsTable: 'pgmigrations',
      migrationsSchema: 'public',
      log: () => {}
    });
    const before = new pg.Client({ connectionString: url });
    await before.connect();
    // Version 1 reports: a rules error with its catalogue code, an outage with an engine-internal one.
    const v1 = (code: string) =>
      probeReportFixture('error', { version: 1, error: { code, message: `${code} happened` } });
    const old = await before.query<{ id: string }>(
      `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report)
       VALUES ('demo', 'u-1', 'error', 's', now(), 1, $1), ('demo', 'u-2', 'error', 's', now(), 1, $2)
       RETURNING id`,
      [v1('SYNCSCOPE_E_SYNC_RULES_INVALID'), v1('unreachable')]
    );
    await before.end();
    await migrateOpsDatabase(url);
    const ops = new OpsDatabase(url);
    try {
      const reason = { code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE' as const, message: 'cannot reach it' };
      const recorded = await ops.recordProbeRun(probeReportFixture('inconclusive', { reason }));
      const { rows } = await ops.pool.query(
        'SELECT verdict, reason_code FROM syncscope.probe_runs WHERE id = ANY($1) ORDER BY user_id, recorded_at',
        [[...old.rows.map((r) => r.id), recorded]]
      );
      expect(rows).toEqual([
        { verdict: 'error', reason_code: 'SYNCSCOPE_E_SYNC_RULES_INVALID' },
        { verdict: 'inconclusive', reason_code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE' },
        { verdict: 'error', reason_code: null }
      ]);
      const audited = await ops.pool.query(
        "SELECT details->>'reasonCode' AS code FROM syncscope.audit_log WHERE details->>'runId' = $1",
        [recorded]
      );
      expect(audited.rows).toEqual([{ code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE' }]);
      await expect(ops.recordProbeRun(probeReportFixture('unsure' as 'error'))).rejects.toThrow(
        /probe_runs_verdict_check/
      );
    } finally {
      await ops.close();
    }
  });

  it('stores a run only with its probe.run audit entry, in one transaction', async () => {
    const url = await createTestDatabase('ops_run_audit');
    await migrateOpsDatabase(url);
    const ops = new OpsDatabase(url);
    try {
      const runId = await ops.recordProbeRun(report('consistent'), { requestedBy: 'ana@example.com' });
      const audited = await ops.pool.query(
        "SELECT actor, details->>'verdict' AS verdict FROM syncscope.audit_log WHERE details->>'runId' = $1",
        [runId]
      );
      expect(audited.rows).toEqual([{ actor: 'ana@example.com', verdict: 'consistent' }]);

      // An audit log that refuses the entry (a full disk, a broken constraint) leaves no run behind.
      await whileAuditRefuses(url, 'probe.run', () => ops.recordProbeRun(report('mismatch')));
      const runs = await ops.pool.query<{ verdict: string }>('SELECT verdict FROM syncscope.probe_runs');
      expect(runs.rows).toEqual([{ verdict: 'consistent' }]);
    } finally {
      await ops.close();
    }
  });
});
