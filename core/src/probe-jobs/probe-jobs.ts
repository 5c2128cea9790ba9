import type pg from 'pg';
import { insertProbeRun, inTransaction } from '../ops-db/ops-database.ts';
import type { ProbeMode } from '../probe/probe-mode.ts';
import type { ProbeReport } from '../probe/probe-types.ts';
import type { StreamSubscription } from '../sync-rules/stream-subscriptions.ts';
import type { WriteProbeReport } from '../write-probe/write-probe-types.ts';
import { type JobStatus, jobTransition, RETRY_DEFAULTS, type RetryPolicy } from './job-state-machine.ts';

/**
 * The probe job queue in the ops database. The console enqueues; agents on any machine claim with
 * FOR UPDATE SKIP LOCKED (one job, one agent) under a lease (owner + epoch), beat a heartbeat that extends
 * it while they run, and NOTIFY progress and results on PROBE_JOBS_CHANNEL, which the console relays to
 * browsers. Every change an agent makes is conditional on the lease; the transitions are the table in
 * job-state-machine.ts. Each attempt's run is stored with the job's new state in one transaction.
 */
export const PROBE_JOBS_CHANNEL = 'syncscope_probe_jobs';

export type ProbeJobStatus = JobStatus;

export interface ProbeJob {
  id: string;
  /** read: a probe of one user; write: a synthetic write probe as the target's test user. */
  kind: 'read' | 'write';
  target: string;
  userId: string;
  claims: Record<string, unknown>;
  /** Sync streams the probe's client subscribes to besides the default ones (read probes). */
  subscriptions: StreamSubscription[];
  /** How a read probe syncs (probe-mode.ts); write probes are always full. */
  mode: ProbeMode;
  reason: string;
  requestedBy: string;
  status: ProbeJobStatus;
  attempts: number;
  maxAttempts: number;
  agent: string | null;
  /** Incremented by every claim: tells the current owner from a stale one. */
  leaseEpoch: number;
  /** When a queued or retry_wait job may be claimed (ISO time). */
  nextAttemptAt: string;
  progress: ProbeProgress;
  runId: string | null;
  error: string | null;
  createdAt: string;
}

/** Where a running probe is: its phase, and for the sync phase the operations received so far. */
export interface ProbeProgress {
  phase?: string;
  ops?: { done: number; total: number | null };
}

/** What NOTIFY carries (small: ids and progress; the report is read from the database). */
export interface ProbeJobEvent {
  jobId: string;
  status: ProbeJobStatus;
  progress: ProbeProgress;
  runId?: string;
  verdict?: string;
  error?: string;
  /** The attempt this event is about, of maxAttempts; retryAt: when a retry_wait job is due. */
  attempt?: number;
  maxAttempts?: number;
  retryAt?: string;
  /** Epoch ms when the agent sent it, to measure notify → browser latency. */
  sentAt: number;
}

type Queryable = Pick<pg.Pool, 'query'>;

/** How a scheduled job's requested_by starts (`schedule:<agent>`, core/src/schedules/expand-schedules.ts). */
export const SCHEDULED_BY = 'schedule:';

/** A job's attempts unless its request says otherwise: one retry of an inconclusive run is often not enough. */
export const DEFAULT_MAX_ATTEMPTS = 3;

const JOB_COLUMNS = `id, kind, target, user_id AS "userId", claims, subscriptions, mode, reason, requested_by AS "requestedBy", status,
  attempts, max_attempts AS "maxAttempts", agent, lease_epoch AS "leaseEpoch",
  to_json(next_attempt_at) #>> '{}' AS "nextAttemptAt", progress, run_id AS "runId", error, created_at AS "createdAt"`;

export async function enqueueProbeJob(
  db: Queryable,
  job: {
    kind?: ProbeJob['kind'];
    target: string;
    userId: string;
    claims?: Record<string, unknown>;
    subscriptions?: StreamSubscription[];
    mode?: ProbeMode;
    reason: string;
    requestedBy: string;
    /** Attempts before the job fails or keeps its last inconclusive run (DEFAULT_MAX_ATTEMPTS). */
    maxAttempts?: number;
  }
): Promise<ProbeJob> {
  const { rows } = await db.query<ProbeJob>(
    `INSERT INTO syncscope.probe_jobs (kind, target, user_id, claims, subscriptions, reason, requested_by, max_attempts, mode)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${JOB_COLUMNS}`,
    [
      job.kind ?? 'read',
      job.target,
      job.userId,
      job.claims ?? {},
      JSON.stringify(job.subscriptions ?? []),
      job.reason,
      job.requestedBy,
      job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      job.mode ?? 'full'
    ]
  );
  const created = rows[0]!;
  await notify(db, { jobId: created.id, status: 'queued', progress: {}, sentAt: Date.now() });
  return created;
}

export async function getProbeJob(db: Queryable, id: string): Promise<ProbeJob | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await db.query<ProbeJob>(`SELECT ${JOB_COLUMNS} FROM syncscope.probe_jobs WHERE id = $1`, [
    id
  ]);
  return rows[0] ?? null;
}

/** An agent's hold on a running job: the owner and the lease epoch of its claim. */
export interface JobLease {
  jobId: string;
  agent: string;
  epoch: number;
}

/** The SQL condition "the lease named by $1 (job), $2 (agent), $3 (epoch) is still held". */
const HOLDS_LEASE = `id = $1 AND agent = $2 AND lease_epoch = $3 AND status = 'running'`;
const leaseParams = (lease: JobLease) => [lease.jobId, lease.agent, lease.epoch];
const interval = (param: string) => `make_interval(secs => ${param}::double precision / 1000)`;

export interface ClaimSettings {
  /** The lease a claim (and each heartbeat) grants; a job not beaten within it may be reclaimed. */
  leaseMs: number;
  /** The attempt's deadline (the agent may set the target's own with setJobDeadline). */
  deadlineMs: number;
}

export const CLAIM_DEFAULTS: ClaimSettings = { leaseMs: 15_000, deadlineMs: 180_000 };

/**
 * Which jobs a claim may take besides "due": per-target limits on running jobs across all agents (the
 * targets file's `max_concurrent_probes`), and targets this agent holds back from (claim-throttle.ts).
 */
export interface ClaimScope {
  limits?: Record<string, number>;
  paused?: readonly string[];
}

/** Claims with per-target limits take turns on this lock, so two agents never both take a limit's last slot. */
const CLAIM_LOCK_KEY = 0x5_c1a1;

/**
 * Claims the job first in line (lowest priority number, then due longest: queued, or waiting to retry
 * and due) for this agent, under a new lease epoch; null when none is due. Concurrent agents never get
 * the same job (FOR UPDATE SKIP LOCKED). With limits, claims are serialised (a transaction-level
 * advisory lock, held for the one statement) and a target with as many running jobs as its limit is
 * passed over; so is a paused target.
 */
export async function claimProbeJob(
  pool: pg.Pool,
  agent: string,
  settings: ClaimSettings = CLAIM_DEFAULTS,
  scope: ClaimScope = {}
): Promise<ProbeJob | null> {
  const limits = scope.limits ?? {};
  const claim = async (db: Queryable) =>
    db.query<ProbeJob>(
      `WITH saturated AS (
         SELECT l.key AS target FROM jsonb_each_text($4::jsonb) l
         WHERE (SELECT count(*) FROM syncscope.probe_jobs r WHERE r.status = 'running' AND r.target = l.key)
               >= l.value::int)
       UPDATE syncscope.probe_jobs SET status = 'running', agent = $1, attempts = attempts + 1,
         lease_epoch = lease_epoch + 1, heartbeat_at = now(), started_at = now(), progress = '{}',
         lease_expires_at = now() + ${interval('$2')}, deadline_at = now() + ${interval('$3')}
       WHERE id = (SELECT id FROM syncscope.probe_jobs
                   WHERE status IN ('queued', 'retry_wait') AND next_attempt_at <= now()
                     AND target <> ALL($5::text[]) AND target NOT IN (SELECT target FROM saturated)
                   ORDER BY priority, next_attempt_at FOR UPDATE SKIP LOCKED LIMIT 1)
       RETURNING ${JOB_COLUMNS}`,
      [agent, settings.leaseMs, settings.deadlineMs, JSON.stringify(limits), scope.paused ?? []]
    );
  const { rows } =
    Object.keys(limits).length === 0
      ? await claim(pool)
      : await inTransaction(pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK_KEY]);
          return claim(client);
        });
  const job = rows[0] ?? null;
  if (job) await notify(pool, eventOf(job, 'running', {}));
  return job;
}

export function leaseOf(job: ProbeJob): JobLease {
  return { jobId: job.id, agent: job.agent ?? '', epoch: job.leaseEpoch };
}

/**
 * Records progress and extends the lease (a heartbeat); false when the lease is no longer held (the job
 * was reclaimed: its new owner runs it, and this agent must stop).
 */
export async function reportProbeProgress(
  db: Queryable,
  lease: JobLease,
  progress: ProbeProgress,
  leaseMs = CLAIM_DEFAULTS.leaseMs
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE syncscope.probe_jobs SET progress = $4, heartbeat_at = now(), lease_expires_at = now() + ${interval('$5')}
     WHERE ${HOLDS_LEASE}`,
    [...leaseParams(lease), progress, leaseMs]
  );
  if (rowCount) await notify(db, { jobId: lease.jobId, status: 'running', progress, sentAt: Date.now() });
  return Boolean(rowCount);
}

/** Sets the attempt's deadline to `deadlineMs` after its start (a target's own); false without the lease. */
export async function setJobDeadline(db: Queryable, lease: JobLease, deadlineMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE syncscope.probe_jobs SET deadline_at = started_at + ${interval('$4')} WHERE ${HOLDS_LEASE}`,
    [...leaseParams(lease), deadlineMs]
  );
  return Boolean(rowCount);
}

export type StoreOutcome =
  | { stored: true; runId: string; status: 'done' | 'retry_wait'; final: boolean; retryAt?: string }
  | { stored: false; reason: 'SYNCSCOPE_E_JOB_LEASE_LOST' };

/**
 * Stores an attempt's report as the job's run and moves the job on (done with its final run, or
 * retry_wait after a backoff), with the run's audit entry, in one transaction that first checks the
 * lease. A stale owner (its job reclaimed) stores nothing and learns so from the outcome.
 */
export async function storeJobResult(
  pool: pg.Pool,
  lease: JobLease,
  job: Pick<ProbeJob, 'requestedBy'>,
  report: ProbeReport | WriteProbeReport,
  policy: RetryPolicy = RETRY_DEFAULTS
): Promise<StoreOutcome> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{
      status: JobStatus;
      attempts: number;
      maxAttempts: number;
      held: boolean;
    }>(
      `SELECT status, attempts, max_attempts AS "maxAttempts",
              (agent = $2 AND lease_epoch = $3) AS held
       FROM syncscope.probe_jobs WHERE id = $1 FOR UPDATE`,
      leaseParams(lease)
    );
    const row = rows[0];
    const step = row
      ? jobTransition(
          row.status,
          { kind: 'result', verdict: report.verdict, holdsLease: row.held },
          { ...row, policy }
        )
      : null;
    if (!row || !step || step.effect === 'refused')
      return { stored: false, reason: 'SYNCSCOPE_E_JOB_LEASE_LOST' };
    const final = step.effect === 'store-final';
    const runId = await insertProbeRun(client, report, {
      jobId: lease.jobId,
      requestedBy: job.requestedBy,
      attempt: row.attempts,
      final
    });
    const { rows: updated } = await client.query<ProbeJob>(
      `UPDATE syncscope.probe_jobs SET status = $2, progress = $3,
         run_id = CASE WHEN $4 THEN $5::uuid ELSE run_id END,
         finished_at = CASE WHEN $4 THEN now() END,
         next_attempt_at = now() + ${interval('$6')}, lease_expires_at = NULL, deadline_at = NULL,
         error = CASE WHEN $4 THEN error ELSE $7 END
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [
        lease.jobId,
        step.to,
        final ? { phase: 'done' } : { phase: 'waiting to retry' },
        final,
        runId,
        step.retryAfterMs ?? 0,
        final
          ? null
          : `attempt ${row.attempts} of ${row.maxAttempts} was inconclusive (${reasonOf(report)}); retrying`
      ]
    );
    const next = updated[0]!;
    await notify(client, { ...eventOf(next, next.status, next.progress), runId, verdict: report.verdict });
    return final
      ? { stored: true, runId, status: 'done', final }
      : { stored: true, runId, status: 'retry_wait', final, retryAt: next.nextAttemptAt };
  });
}

function reasonOf(report: ProbeReport | WriteProbeReport): string {
  return report.reason?.code ?? report.verdict;
}

/** Fails a job whose attempt threw (a SyncScope bug: nothing to retry); false without the lease. */
export async function failProbeJob(db: Queryable, lease: JobLease, error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE syncscope.probe_jobs SET status = 'failed', error = $4, finished_at = now(), lease_expires_at = NULL
     WHERE ${HOLDS_LEASE}`,
    [...leaseParams(lease), error]
  );
  if (rowCount)
    await notify(db, { jobId: lease.jobId, status: 'failed', progress: {}, error, sentAt: Date.now() });
  return Boolean(rowCount);
}

export interface ReclaimedJob {
  id: string;
  target: string;
  cause: 'heartbeat' | 'deadline';
  status: JobStatus;
  error: string;
}

/**
 * Reclaims running jobs whose lease expired (their agent stopped beating: cause `heartbeat`) or whose
 * deadline passed `deadlineGraceMs` ago (a hung probe, even if its agent still beats: cause `deadline`;
 * the grace lets an agent that aborts at its deadline store its own inconclusive run first). Each goes
 * where the state machine says. Any agent may run this; row locks keep two sweeps from taking one job.
 */
export async function reclaimProbeJobs(
  pool: pg.Pool,
  options: { deadlineGraceMs: number; policy?: RetryPolicy }
): Promise<ReclaimedJob[]> {
  const policy = options.policy ?? RETRY_DEFAULTS;
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{
      id: string;
      target: string;
      agent: string;
      attempts: number;
      maxAttempts: number;
      heartbeatAt: Date;
      deadlineAt: Date;
      overran: boolean;
    }>(
      `SELECT id, target, agent, attempts, max_attempts AS "maxAttempts", heartbeat_at AS "heartbeatAt",
              deadline_at AS "deadlineAt", deadline_at < now() - ${interval('$1')} AS overran
       FROM syncscope.probe_jobs
       WHERE status = 'running' AND (lease_expires_at < now() OR deadline_at < now() - ${interval('$1')})
       ORDER BY id FOR UPDATE SKIP LOCKED`,
      [options.deadlineGraceMs]
    );
    const reclaimed: ReclaimedJob[] = [];
    for (const row of rows) {
      const cause = row.overran ? 'deadline' : 'heartbeat';
      const step = jobTransition(
        'running',
        { kind: cause === 'deadline' ? 'deadline' : 'lease-expired' },
        {
          ...row,
          policy
        }
      );
      const what =
        cause === 'deadline'
          ? `attempt ${row.attempts} by agent ${row.agent} overran its deadline (${row.deadlineAt.toISOString()})`
          : `agent ${row.agent} stopped responding during attempt ${row.attempts} (no heartbeat since ${row.heartbeatAt.toISOString()})`;
      const error = `${what}; ${step.to === 'failed' ? 'no attempts left' : 'queued again'}`;
      await client.query(
        // A job queued again at once keeps its place in the queue (its old next_attempt_at), ahead of
        // jobs that were queued after it.
        `UPDATE syncscope.probe_jobs SET status = $2, error = $3, lease_expires_at = NULL, deadline_at = NULL,
           next_attempt_at = CASE WHEN $4 > 0 THEN now() + ${interval('$4')} ELSE next_attempt_at END,
           finished_at = CASE WHEN $2 = 'failed' THEN now() END
         WHERE id = $1`,
        [row.id, step.to, error, step.retryAfterMs ?? 0]
      );
      await notify(client, { jobId: row.id, status: step.to, progress: {}, error, sentAt: Date.now() });
      reclaimed.push({ id: row.id, target: row.target, cause, status: step.to, error });
    }
    return reclaimed;
  });
}

/** Jobs waiting (queued or retry_wait) and running, and the age of the longest-waiting due job. */
export async function probeJobBacklog(
  db: Queryable
): Promise<{ queued: number; running: number; oldestQueuedAgeSeconds: number }> {
  const { rows } = await db.query<{ queued: number; running: number; oldest: number | null }>(
    `SELECT count(*) FILTER (WHERE status IN ('queued', 'retry_wait'))::int AS queued,
            count(*) FILTER (WHERE status = 'running')::int AS running,
            extract(epoch FROM now() - min(next_attempt_at) FILTER (
              WHERE status IN ('queued', 'retry_wait') AND next_attempt_at <= now()))::float8 AS oldest
     FROM syncscope.probe_jobs WHERE status IN ('queued', 'retry_wait', 'running')`
  );
  const row = rows[0]!;
  return { queued: row.queued, running: row.running, oldestQueuedAgeSeconds: row.oldest ?? 0 };
}

function eventOf(job: ProbeJob, status: ProbeJobStatus, progress: ProbeProgress): ProbeJobEvent {
  return {
    jobId: job.id,
    status,
    progress,
    attempt: job.attempts,
    maxAttempts: job.maxAttempts,
    ...(status === 'retry_wait' ? { retryAt: job.nextAttemptAt } : {}),
    sentAt: Date.now()
  };
}

async function notify(db: Queryable, event: ProbeJobEvent): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [PROBE_JOBS_CHANNEL, JSON.stringify(event)]);
}
