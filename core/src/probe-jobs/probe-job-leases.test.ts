import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.ts';
import { migrateOpsDatabase, OpsDatabase } from '../ops-db/ops-database.ts';
import { probeReportFixture } from '../testing/probe-report-fixture.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import type { RetryPolicy } from './job-state-machine.ts';
import { type JobWorkerEvent, startProbeJobWorker } from './probe-job-worker.ts';
import {
  claimProbeJob,
  enqueueProbeJob,
  getProbeJob,
  leaseOf,
  type ProbeJob,
  reclaimProbeJobs,
  reportProbeProgress,
  storeJobResult
} from './probe-jobs.ts';

const logger = createLogger('probe-job-leases-test', 'silent');
const NO_JITTER: RetryPolicy = { baseMs: 60_000, capMs: 600_000, jitter: 0 };
let url: string;
let ops: OpsDatabase;
let n = 0;

beforeAll(async () => {
  url = await createTestDatabase('probe_job_leases');
  await migrateOpsDatabase(url);
  ops = new OpsDatabase(url);
});
afterAll(() => ops.close());
// Each test starts from an empty queue: a claim takes the longest-due job, whichever test left it.
beforeEach(async () => {
  await ops.pool.query('DELETE FROM syncscope.probe_jobs');
});

const enqueue = (maxAttempts = 3) =>
  enqueueProbeJob(ops.pool, {
    target: 'demo',
    userId: `u-${++n}`,
    reason: 'test',
    requestedBy: 'op@x.io',
    maxAttempts
  });

async function claimed(agent: string, leaseMs = 60_000): Promise<ProbeJob> {
  const job = await claimProbeJob(ops.pool, agent, { leaseMs, deadlineMs: 60_000 });
  if (!job) throw new Error('nothing to claim');
  return job;
}

async function runsOf(jobId: string) {
  const { rows } = await ops.pool.query<{ attempt: number; final: boolean | null; verdict: string }>(
    'SELECT attempt, final, verdict FROM syncscope.probe_runs WHERE job_id = $1 ORDER BY attempt',
    [jobId]
  );
  return rows;
}

/** Lets the queue see a lease (or deadline) as passed, as if time had moved on. */
async function age(
  jobId: string,
  column: 'lease_expires_at' | 'deadline_at' | 'next_attempt_at',
  ms: number
) {
  await ops.pool.query(
    `UPDATE syncscope.probe_jobs SET ${column} = ${column} - make_interval(secs => $2::float8 / 1000) WHERE id = $1`,
    [jobId, ms]
  );
}

async function waitFor<T>(check: () => Promise<T | undefined | null | false>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('job leases', () => {
  it("a stale owner's result is refused and stores nothing; the new owner's is the job's one run", async () => {
    const job = await enqueue();
    const first = await claimed('agent-a', 1_000);
    expect(first.id).toBe(job.id);
    await age(job.id, 'lease_expires_at', 5_000);
    expect(await reclaimProbeJobs(ops.pool, { deadlineGraceMs: 10_000 })).toMatchObject([
      { id: job.id, cause: 'heartbeat', status: 'queued' }
    ]);
    const second = await claimed('agent-b');
    expect(second.leaseEpoch).toBe(first.leaseEpoch + 1);

    // Agent A comes back (a long GC pause, a partition): its heartbeat and its result are both refused.
    expect(await reportProbeProgress(ops.pool, leaseOf(first), { phase: 'diff' })).toBe(false);
    const stale = await storeJobResult(ops.pool, leaseOf(first), first, probeReportFixture('mismatch'));
    expect(stale).toEqual({ stored: false, reason: 'SYNCSCOPE_E_JOB_LEASE_LOST' });
    // The same agent name under an old epoch is no owner either (an agent restarted with a fixed name).
    const sameNameOldEpoch = { ...leaseOf(second), epoch: first.leaseEpoch };
    expect(
      (await storeJobResult(ops.pool, sameNameOldEpoch, second, probeReportFixture('mismatch'))).stored
    ).toBe(false);
    expect(await runsOf(job.id)).toEqual([]);

    const fresh = await storeJobResult(ops.pool, leaseOf(second), second, probeReportFixture('consistent'));
    expect(fresh).toMatchObject({ stored: true, status: 'done', final: true });
    expect(await runsOf(job.id)).toEqual([{ attempt: 2, final: true, verdict: 'consistent' }]);
    expect(await getProbeJob(ops.pool, job.id)).toMatchObject({
      status: 'done',
      runId: fresh.stored ? fresh.runId : ''
    });
    // Storing twice under the same lease is refused too: the job is no longer running.
    expect(
      (await storeJobResult(ops.pool, leaseOf(second), second, probeReportFixture('consistent'))).stored
    ).toBe(false);
    const audits = await ops.pool.query(
      "SELECT count(*)::int AS n FROM syncscope.audit_log WHERE action = 'probe.run' AND details->>'jobId' = $1",
      [job.id]
    );
    expect(audits.rows[0].n).toBe(1);
  });

  it('the database refuses a second run for one attempt and a second final run for one job', async () => {
    const job = await enqueue();
    const insert = (attempt: number, final: boolean) =>
      ops.pool.query(
        `INSERT INTO syncscope.probe_runs (target, user_id, verdict, summary, started_at, duration_ms, report, job_id, attempt, final)
         VALUES ('demo', 'u', 'consistent', 's', now(), 1, '{}', $1, $2, $3)`,
        [job.id, attempt, final]
      );
    await insert(1, false);
    await expect(insert(1, false)).rejects.toThrow(/probe_runs_job_attempt/);
    await insert(2, true);
    await expect(insert(3, true)).rejects.toThrow(/probe_runs_job_final/);
  });
});

describe('retries', () => {
  it('an inconclusive attempt is retried after its backoff, each attempt stored, the last one final', async () => {
    const job = await enqueue(3);
    const report = () =>
      probeReportFixture('inconclusive', {
        reason: { code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE', message: 'connection refused' }
      });
    const waits: number[] = [];
    for (const attempt of [1, 2]) {
      const lease = leaseOf(await claimed('agent-r'));
      const before = Date.now();
      const outcome = await storeJobResult(ops.pool, lease, job, report(), NO_JITTER);
      expect(outcome).toMatchObject({ stored: true, status: 'retry_wait', final: false });
      waits.push(Date.parse(outcome.stored ? (outcome.retryAt ?? '') : '') - before);
      // Not claimable before its time, by anyone.
      expect(await claimProbeJob(ops.pool, 'agent-eager')).toBeNull();
      expect(await getProbeJob(ops.pool, job.id)).toMatchObject({
        status: 'retry_wait',
        attempts: attempt,
        error: `attempt ${attempt} of 3 was inconclusive (SYNCSCOPE_E_SERVICE_UNREACHABLE); retrying`
      });
      await age(job.id, 'next_attempt_at', 3_600_000);
    }
    // Exponential: 60 s, then 120 s (no jitter here), within the test's own clock skew.
    expect(waits[0]).toBeGreaterThan(59_000);
    expect(waits[0]).toBeLessThan(61_000);
    expect(waits[1]).toBeGreaterThan(119_000);
    expect(waits[1]).toBeLessThan(121_000);
    const last = await claimed('agent-r');
    expect(await storeJobResult(ops.pool, leaseOf(last), job, report(), NO_JITTER)).toMatchObject({
      stored: true,
      status: 'done',
      final: true
    });
    expect(await runsOf(job.id)).toEqual([
      { attempt: 1, final: false, verdict: 'inconclusive' },
      { attempt: 2, final: false, verdict: 'inconclusive' },
      { attempt: 3, final: true, verdict: 'inconclusive' }
    ]);
  });

  it('a mismatch is final at once, never retried away; so is an error', async () => {
    for (const verdict of ['mismatch', 'error'] as const) {
      const job = await enqueue(3);
      const lease = leaseOf(await claimed('agent-m'));
      expect(
        await storeJobResult(ops.pool, lease, job, probeReportFixture(verdict), NO_JITTER)
      ).toMatchObject({
        status: 'done',
        final: true
      });
      expect(await getProbeJob(ops.pool, job.id)).toMatchObject({ status: 'done', attempts: 1 });
      expect(await runsOf(job.id)).toEqual([{ attempt: 1, final: true, verdict }]);
    }
  });
});

describe('deadlines and lost leases', () => {
  it('a hung probe whose agent still beats is stopped by its agent at the deadline and stored inconclusive', async () => {
    const job = await enqueue(1);
    const reasons: unknown[] = [];
    const worker = await startProbeJobWorker({
      opsDatabaseUrl: url,
      agent: 'agent-deadline',
      logger,
      pollMs: 50,
      heartbeatMs: 100,
      deadlineMs: 600,
      // A hung probe that honours its signal, as runProbe does.
      run: (claimedJob, attempt) =>
        new Promise((resolve) => {
          attempt.signal.addEventListener('abort', () => {
            reasons.push(attempt.signal.reason);
            resolve(
              probeReportFixture('inconclusive', {
                userId: claimedJob.userId,
                reason: { code: 'SYNCSCOPE_E_PROBE_DEADLINE', message: 'deadline' }
              })
            );
          });
        })
    });
    try {
      const done = await waitFor(async () => {
        const j = await getProbeJob(ops.pool, job.id);
        return j?.status === 'done' ? j : null;
      });
      expect(reasons).toEqual(['SYNCSCOPE_E_PROBE_DEADLINE']);
      expect(await runsOf(done.id)).toEqual([{ attempt: 1, final: true, verdict: 'inconclusive' }]);
    } finally {
      await worker.stop();
    }
  });

  it('the queue reclaims a job past its deadline even while its agent beats; the agent then finds its lease lost and frees the slot', async () => {
    const job = await enqueue(3);
    const events: JobWorkerEvent[] = [];
    const reasons: unknown[] = [];
    let runs = 0;
    // Agent A's probe ignores its deadline (a bug, or stuck in native code) but its heartbeat goes on.
    const worker = await startProbeJobWorker({
      opsDatabaseUrl: url,
      agent: 'agent-stuck',
      logger,
      concurrency: 1,
      pollMs: 50,
      heartbeatMs: 100,
      deadlineMs: 300,
      deadlineGraceMs: 300,
      retry: { baseMs: 60_000, capMs: 60_000, jitter: 0 },
      onEvent: (e) => events.push(e),
      run: (_job, attempt) => {
        runs++;
        attempt.signal.addEventListener('abort', () => reasons.push(attempt.signal.reason));
        return new Promise(() => {});
      }
    });
    try {
      const waiting = await waitFor(async () => {
        const j = await getProbeJob(ops.pool, job.id);
        return j?.status === 'retry_wait' ? j : null;
      });
      expect(waiting.error).toMatch(/attempt 1 by agent agent-stuck overran its deadline .*; queued again/);
      await waitFor(async () => events.some((e) => e.kind === 'lease-lost'));
      expect(reasons).toEqual(['SYNCSCOPE_E_PROBE_DEADLINE']);
    } finally {
      await worker.stop();
    }
    expect(runs).toBe(1);
    expect(events).toEqual(
      expect.arrayContaining([
        { kind: 'reclaimed', cause: 'deadline' },
        { kind: 'retry', target: 'demo', reason: 'SYNCSCOPE_E_PROBE_DEADLINE' },
        { kind: 'lease-lost', target: 'demo' }
      ])
    );
    expect(await runsOf(job.id)).toEqual([]);
    expect(await getProbeJob(ops.pool, job.id)).toMatchObject({ status: 'retry_wait', attempts: 1 });
  });

  it('a heartbeat that finds the lease gone aborts the running probe with SYNCSCOPE_E_JOB_LEASE_LOST', async () => {
    const job = await enqueue(3);
    let signalReason: unknown;
    const events: JobWorkerEvent[] = [];
    const worker = await startProbeJobWorker({
      opsDatabaseUrl: url,
      agent: 'agent-partitioned',
      logger,
      concurrency: 1,
      pollMs: 50,
      heartbeatMs: 100,
      onEvent: (e) => events.push(e),
      run: (claimedJob, attempt) =>
        new Promise((resolve) => {
          attempt.signal.addEventListener('abort', () => {
            signalReason = attempt.signal.reason;
            resolve(probeReportFixture('inconclusive', { userId: claimedJob.userId }));
          });
        })
    });
    try {
      await waitFor(async () => (await getProbeJob(ops.pool, job.id))?.status === 'running');
      // Another agent took the job over (its lease was taken as expired, e.g. across a network partition).
      await ops.pool.query(
        "UPDATE syncscope.probe_jobs SET agent = 'agent-other', lease_epoch = lease_epoch + 1 WHERE id = $1",
        [job.id]
      );
      await waitFor(async () => signalReason !== undefined);
    } finally {
      await worker.stop();
    }
    expect(signalReason).toBe('SYNCSCOPE_E_JOB_LEASE_LOST');
    expect(events).toEqual([{ kind: 'lease-lost', target: 'demo' }]);
    expect(await runsOf(job.id)).toEqual([]);
    expect(await getProbeJob(ops.pool, job.id)).toMatchObject({ status: 'running', agent: 'agent-other' });
  });
});
