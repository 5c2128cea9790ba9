import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { claimProbeJob, enqueueProbeJob } from '@syncscope/core/probe-jobs/probe-jobs';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerJobMetrics } from './job-metrics.ts';

let ops: OpsDatabase;

beforeAll(async () => {
  const url = await createTestDatabase('job_metrics');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops.close());

describe("the agent's job metrics", () => {
  it('read the backlog from the ops database at scrape time and count retries, reclaims and lost leases', async () => {
    const registry = new Registry();
    const metrics = registerJobMetrics(registry, ops.pool);
    const request = { target: 'demo', userId: 'u', reason: 'r', requestedBy: 'op@x.io' };
    await enqueueProbeJob(ops.pool, request);
    await enqueueProbeJob(ops.pool, request);
    await ops.pool.query("UPDATE syncscope.probe_jobs SET next_attempt_at = now() - interval '42 seconds'");
    await claimProbeJob(ops.pool, 'agent-1');
    metrics.record({ kind: 'retry', target: 'demo', reason: 'SYNCSCOPE_E_SERVICE_UNREACHABLE' });
    metrics.record({ kind: 'reclaimed', cause: 'deadline' });
    metrics.record({ kind: 'lease-lost', target: 'demo' });

    const text = await registry.metrics();
    expect(text).toContain('syncscope_probe_jobs{status="queued"} 1');
    expect(text).toContain('syncscope_probe_jobs{status="running"} 1');
    const age = Number(/^syncscope_probe_jobs_oldest_queued_age_seconds (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(42);
    expect(age).toBeLessThan(60);
    expect(text).toContain(
      'syncscope_probe_job_retries_total{target="demo",reason="SYNCSCOPE_E_SERVICE_UNREACHABLE"} 1'
    );
    expect(text).toContain('syncscope_probe_jobs_reclaimed_total{cause="deadline"} 1');
    expect(text).toContain('syncscope_probe_jobs_reclaimed_total{cause="heartbeat"} 0');
    expect(text).toContain('syncscope_probe_job_leases_lost_total{target="demo"} 1');
  });
});
