import type pg from 'pg';
import type { StreamSubscription } from '../sync-rules/stream-subscriptions.ts';

/**
 * The probe job queue in the ops database. The console enqueues; agents on any machine claim with
 * FOR UPDATE SKIP LOCKED (one job, one agent), beat a heartbeat while they run, and NOTIFY progress and
 * results on PROBE_JOBS_CHANNEL, which the console relays to browsers. A job whose heartbeat goes stale
 * (its agent was killed) is queued again, or failed with the reason once it has used its attempts.
 */
export const PROBE_JOBS_CHANNEL = 'syncscope_probe_jobs';

export type ProbeJobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ProbeJob {
  id: string;
  /** read: a probe of one user; write: a synthetic write probe as the target's test user. */
  kind: 'read' | 'write';
  target: string;
  userId: string;
  claims: Record<string, unknown>;
  /** Sync streams the probe's client subscribes to besides the default ones (read probes). */
  subscriptions: StreamSubscription[];
  reason: string;
  requestedBy: string;
  status: ProbeJobStatus;
  attempts: number;
  maxAttempts: number;
  agent: string | null;
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
  /** Epoch ms when the agent sent it, to measure notify → browser latency. */
  sentAt: number;
}

type Queryable = Pick<pg.Pool, 'query'>;

const JOB_COLUMNS = `id, kind, target, user_id AS "userId", claims, subscriptions, reason, requested_by AS "requestedBy", status,
  attempts, max_attempts AS "maxAttempts", agent, progress, run_id AS "runId", error, created_at AS "createdAt"`;

export async function enqueueProbeJob(
  db: Queryable,
  job: {
    kind?: ProbeJob['kind'];
    target: string;
    userId: string;
    claims?: Record<string, unknown>;
    subscriptions?: StreamSubscription[];
    reason: string;
    requestedBy: string;
  }
): Promise<ProbeJob> {
  const { rows } = await db.query<ProbeJob>(
    `INSERT INTO syncscope.probe_jobs (kind, target, user_id, claims, subscriptions, reason, requested_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${JOB_COLUMNS}`,
    [
      job.kind ?? 'read',
      job.target,
      job.userId,
      job.claims ?? {},
      JSON.stringify(job.subscriptions ?? []),
      job.reason,
      job.requestedBy
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

/** Claims the oldest queued job for this agent, or null. Concurrent agents never get the same job. */
export async function claimProbeJob(db: Queryable, agent: string): Promise<ProbeJob | null> {
  const { rows } = await db.query<ProbeJob>(
    `UPDATE syncscope.probe_jobs SET status = 'running', agent = $1, attempts = attempts + 1,
       heartbeat_at = now(), started_at = now(), progress = '{}'
     WHERE id = (SELECT id FROM syncscope.probe_jobs WHERE status = 'queued'
                 ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
     RETURNING ${JOB_COLUMNS}`,
    [agent]
  );
  const job = rows[0] ?? null;
  if (job) await notify(db, { jobId: job.id, status: 'running', progress: {}, sentAt: Date.now() });
  return job;
}

/** Records progress and beats the heartbeat; false when the job is no longer this agent's. */
export async function reportProbeProgress(
  db: Queryable,
  jobId: string,
  agent: string,
  progress: ProbeProgress
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE syncscope.probe_jobs SET progress = $3, heartbeat_at = now()
     WHERE id = $1 AND agent = $2 AND status = 'running'`,
    [jobId, agent, progress]
  );
  if (rowCount) await notify(db, { jobId, status: 'running', progress, sentAt: Date.now() });
  return Boolean(rowCount);
}

export async function completeProbeJob(
  db: Queryable,
  jobId: string,
  agent: string,
  result: { runId: string; report: { verdict: string } }
): Promise<void> {
  await db.query(
    `UPDATE syncscope.probe_jobs SET status = 'done', run_id = $3, finished_at = now(), progress = '{"phase":"done"}'
     WHERE id = $1 AND agent = $2`,
    [jobId, agent, result.runId]
  );
  await notify(db, {
    jobId,
    status: 'done',
    progress: { phase: 'done' },
    runId: result.runId,
    verdict: result.report.verdict,
    sentAt: Date.now()
  });
}

export async function failProbeJob(db: Queryable, jobId: string, error: string): Promise<void> {
  await db.query(
    `UPDATE syncscope.probe_jobs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`,
    [jobId, error]
  );
  await notify(db, { jobId, status: 'failed', progress: {}, error, sentAt: Date.now() });
}

/**
 * Jobs whose agent stopped beating for `staleAfterMs`: queued again while attempts remain, otherwise
 * failed with the reason. Any agent may run this; row locks keep two sweeps from handling one job.
 */
export async function recoverStaleProbeJobs(
  db: Queryable,
  staleAfterMs: number
): Promise<{ requeued: string[]; failed: string[] }> {
  const { rows } = await db.query<{ id: string; status: ProbeJobStatus; error: string | null }>(
    `UPDATE syncscope.probe_jobs j SET
       status = CASE WHEN j.attempts < j.max_attempts THEN 'queued' ELSE 'failed' END,
       error = format('agent %s stopped responding during attempt %s (no heartbeat since %s)%s',
                      j.agent, j.attempts, j.heartbeat_at,
                      CASE WHEN j.attempts < j.max_attempts THEN '; queued again' ELSE '; no attempts left' END),
       finished_at = CASE WHEN j.attempts < j.max_attempts THEN NULL ELSE now() END,
       agent = CASE WHEN j.attempts < j.max_attempts THEN NULL ELSE j.agent END
     WHERE j.id IN (SELECT id FROM syncscope.probe_jobs WHERE status = 'running'
                    AND heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)
                    FOR UPDATE SKIP LOCKED)
     RETURNING j.id, j.status, j.error`,
    [staleAfterMs]
  );
  for (const row of rows)
    await notify(db, {
      jobId: row.id,
      status: row.status,
      progress: {},
      error: row.error ?? undefined,
      sentAt: Date.now()
    });
  return {
    requeued: rows.filter((r) => r.status === 'queued').map((r) => r.id),
    failed: rows.filter((r) => r.status === 'failed').map((r) => r.id)
  };
}

async function notify(db: Queryable, event: ProbeJobEvent): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [PROBE_JOBS_CHANNEL, JSON.stringify(event)]);
}
