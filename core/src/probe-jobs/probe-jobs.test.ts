import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.ts';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import { probeReportFixture } from '../testing/probe-report-fixture.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { startProbeJobWorker } from './probe-job-worker.ts';
import {
  claimProbeJob,
  enqueueProbeJob,
  getProbeJob,
  PROBE_JOBS_CHANNEL,
  type ProbeJobEvent
} from './probe-jobs.ts';

const logger = createLogger('probe-jobs-test', 'silent');
let url: string;
let ops: OpsDatabase;

beforeAll(async () => {
  url = await createTestDatabase('probe_jobs');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops.close());

const request = (n: number) => ({ target: 'demo', userId: `u-${n}`, reason: 'test', requestedBy: 'op@x.io' });

async function waitFor<T>(check: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the probe job queue', () => {
  it('two agents share the queue and never run the same job', async () => {
    const jobs = await Promise.all(
      Array.from({ length: 24 }, (_, n) => enqueueProbeJob(ops.pool, request(n)))
    );
    const runs: { jobId: string; agent: string }[] = [];
    const worker = (agent: string) =>
      startProbeJobWorker({
        opsDatabaseUrl: url,
        agent,
        logger,
        concurrency: 2,
        pollMs: 50,
        run: async (job) => {
          runs.push({ jobId: job.id, agent });
          await new Promise((r) => setTimeout(r, 20));
          return probeReportFixture('consistent', { userId: job.userId });
        }
      });
    const [a, b] = await Promise.all([worker('agent-a'), worker('agent-b')]);
    try {
      await waitFor(async () => {
        const { rows } = await ops.pool.query(
          "SELECT count(*)::int AS n FROM syncscope.probe_jobs WHERE status = 'done'"
        );
        return rows[0].n === jobs.length;
      });
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const ranJobs = runs.map((r) => r.jobId);
    expect(new Set(ranJobs).size).toBe(jobs.length);
    expect(ranJobs).toHaveLength(jobs.length);
    expect(new Set(runs.map((r) => r.agent))).toEqual(new Set(['agent-a', 'agent-b']));
    const { rows } = await ops.pool.query(
      'SELECT count(*)::int AS n FROM syncscope.probe_jobs j JOIN syncscope.probe_runs r ON r.id = j.run_id WHERE j.id = ANY($1)',
      [jobs.map((j) => j.id)]
    );
    expect(rows[0].n).toBe(jobs.length);
  });

  it('a job carries its stream subscriptions, in order, to the agent that claims it', async () => {
    const subscriptions = [
      { stream: 'list_todos', parameters: { list_id: 'l1' }, priority: null },
      { stream: 'list_todos', parameters: null, priority: 0 as const }
    ];
    const withSubscriptions = await enqueueProbeJob(ops.pool, { ...request(200), subscriptions });
    const without = await enqueueProbeJob(ops.pool, request(201));
    expect(withSubscriptions.subscriptions).toEqual(subscriptions);
    expect((await claimProbeJob(ops.pool, 'agent-s'))?.subscriptions).toEqual(subscriptions);
    expect((await claimProbeJob(ops.pool, 'agent-s'))?.subscriptions).toEqual([]);
    expect((await getProbeJob(ops.pool, without.id))?.subscriptions).toEqual([]);
  });

  it("recovers a killed agent's job: queued again and run by another agent, or failed with the reason", async () => {
    const retried = await enqueueProbeJob(ops.pool, request(100));
    const child = startHangingWorker('doomed-agent');
    const events: ProbeJobEvent[] = [];
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    await listener.query(`LISTEN ${PROBE_JOBS_CHANNEL}`);
    listener.on('notification', (m) => events.push(JSON.parse(m.payload!)));
    try {
      await waitFor(async () => (await getProbeJob(ops.pool, retried.id))?.agent === 'doomed-agent');
      child.kill('SIGKILL');
      const survivor = await startProbeJobWorker({
        opsDatabaseUrl: url,
        agent: 'survivor',
        logger,
        pollMs: 100,
        leaseMs: 1_000,
        run: async (job) => probeReportFixture('consistent', { userId: job.userId })
      });
      try {
        const done = await waitFor(async () => {
          const job = await getProbeJob(ops.pool, retried.id);
          return job?.status === 'done' ? job : null;
        });
        expect(done.agent).toBe('survivor');
        expect(done.attempts).toBe(2);
        expect(done.error).toMatch(/agent doomed-agent stopped responding during attempt 1 .*queued again/);
        expect(events.filter((e) => e.jobId === retried.id).map((e) => e.status)).toEqual(
          expect.arrayContaining(['queued', 'running', 'done'])
        );
      } finally {
        await survivor.stop();
      }

      // A job that has used its attempts is failed with the reason instead of retried forever.
      const last = await enqueueProbeJob(ops.pool, request(101));
      await ops.pool.query('UPDATE syncscope.probe_jobs SET max_attempts = 1 WHERE id = $1', [last.id]);
      const second = startHangingWorker('doomed-again');
      await waitFor(async () => (await getProbeJob(ops.pool, last.id))?.agent === 'doomed-again');
      second.kill('SIGKILL');
      const sweeper = await startProbeJobWorker({
        opsDatabaseUrl: url,
        agent: 'sweeper',
        logger,
        pollMs: 100,
        leaseMs: 1_000,
        run: () => Promise.reject(new Error('no job should run'))
      });
      try {
        const failed = await waitFor(async () => {
          const job = await getProbeJob(ops.pool, last.id);
          return job?.status === 'failed' ? job : null;
        });
        expect(failed.error).toMatch(
          /agent doomed-again stopped responding during attempt 1 .*no attempts left/
        );
      } finally {
        await sweeper.stop();
      }
    } finally {
      child.kill('SIGKILL');
      await listener.end();
    }
  }, 60_000);
});

function startHangingWorker(agent: string): ChildProcess {
  const script = fileURLToPath(new URL('./testing/hanging-worker.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, url, agent], { stdio: 'ignore' });
  return child;
}
