import pg from 'pg';
import type { Logger } from '../logging/logger.ts';
import type { ProbeReport } from '../probe/probe-types.ts';
import type { WriteProbeReport } from '../write-probe/write-probe-types.ts';
import { ClaimThrottle } from './claim-throttle.ts';
import { RETRY_DEFAULTS, type RetryPolicy } from './job-state-machine.ts';
import {
  CLAIM_DEFAULTS,
  claimProbeJob,
  failProbeJob,
  type JobLease,
  leaseOf,
  PROBE_JOBS_CHANNEL,
  type ProbeJob,
  type ProbeProgress,
  reclaimProbeJobs,
  reportProbeProgress,
  SCHEDULED_BY,
  setJobDeadline,
  storeJobResult
} from './probe-jobs.ts';

/** What an attempt gets besides its job: where to report progress, and the signal that stops it. */
export interface JobAttempt {
  progress: (p: ProbeProgress) => void;
  /**
   * Aborted with reason 'SYNCSCOPE_E_JOB_LEASE_LOST' when the job was reclaimed from this agent, or
   * 'SYNCSCOPE_E_PROBE_DEADLINE' at the attempt's deadline; the probe then ends inconclusive.
   */
  signal: AbortSignal;
  /** Sets this attempt's deadline (a target's own) counted from the claim, here and in the queue. */
  setDeadline: (deadlineMs: number) => Promise<void>;
}

/** What the worker did, for the agent's metrics. */
export type JobWorkerEvent =
  | { kind: 'retry'; target: string; reason: string }
  | { kind: 'reclaimed'; cause: 'heartbeat' | 'deadline' }
  | { kind: 'lease-lost'; target: string }
  /** This agent's claim allowance for the target changed (claim-throttle.ts). */
  | { kind: 'allowance'; target: string; allowance: number };

export interface ProbeJobWorkerOptions {
  opsDatabaseUrl: string;
  /** This agent's name in the job table (host and pid by default). */
  agent: string;
  logger: Logger;
  /** Runs one attempt of a job and resolves with its report; the worker stores it under the lease. */
  run: (job: ProbeJob, attempt: JobAttempt) => Promise<ProbeReport | WriteProbeReport>;
  onEvent?: (event: JobWorkerEvent) => void;
  /** How many probes this agent runs at once (its capacity). */
  concurrency?: number;
  /**
   * Per-target limits on running probes across all agents (the targets file's max_concurrent_probes),
   * read before each round of claims.
   */
  targetLimits?: () => Promise<Record<string, number>>;
  pollMs?: number;
  heartbeatMs?: number;
  /** The lease a claim and each heartbeat grant: a job not beaten within it is reclaimed. */
  leaseMs?: number;
  /** An attempt's deadline unless the target sets its own. */
  deadlineMs?: number;
  /** How long past its deadline a job may still be stored by its agent before the queue reclaims it. */
  deadlineGraceMs?: number;
  retry?: RetryPolicy;
}

export interface ProbeJobWorker {
  /** Resolves once running jobs have finished. */
  stop(): Promise<void>;
}

export const WORKER_DEFAULTS = {
  concurrency: 2,
  pollMs: 2_000,
  heartbeatMs: 2_000,
  leaseMs: CLAIM_DEFAULTS.leaseMs,
  deadlineMs: CLAIM_DEFAULTS.deadlineMs,
  deadlineGraceMs: 10_000
};

type Settings = typeof WORKER_DEFAULTS & { retry: RetryPolicy };

/**
 * Claims and runs probe jobs until stopped. It wakes on NOTIFY of a queued job (so a click in the console
 * starts a probe at once) and polls as a fallback; every pollMs it also reclaims jobs of agents that died or
 * overran their deadline.
 */
export async function startProbeJobWorker(options: ProbeJobWorkerOptions): Promise<ProbeJobWorker> {
  // Options left undefined keep their defaults (a spread would overwrite them with undefined).
  const settings: Settings = {
    concurrency: options.concurrency ?? WORKER_DEFAULTS.concurrency,
    pollMs: options.pollMs ?? WORKER_DEFAULTS.pollMs,
    heartbeatMs: options.heartbeatMs ?? WORKER_DEFAULTS.heartbeatMs,
    leaseMs: options.leaseMs ?? WORKER_DEFAULTS.leaseMs,
    deadlineMs: options.deadlineMs ?? WORKER_DEFAULTS.deadlineMs,
    deadlineGraceMs: options.deadlineGraceMs ?? WORKER_DEFAULTS.deadlineGraceMs,
    retry: options.retry ?? RETRY_DEFAULTS
  };
  const pool = new pg.Pool({ connectionString: options.opsDatabaseUrl, max: settings.concurrency + 2 });
  pool.on('error', (err) => options.logger.warn({ err: err.message }, 'ops database connection lost'));
  const listener = new pg.Client({ connectionString: options.opsDatabaseUrl });
  listener.on('error', (err) => options.logger.warn({ err: err.message }, 'ops database listener lost'));
  await listener.connect();
  await listener.query(`LISTEN ${PROBE_JOBS_CHANNEL}`);
  const emit = options.onEvent ?? (() => {});

  const running = new Set<Promise<void>>();
  const throttle = new ClaimThrottle(settings.concurrency);
  let stopped = false;
  // A wake-up while a poll runs (a job finished, one was queued) is kept, and the next sleep is skipped:
  // a slot freed mid-poll is filled at once, not a pollMs later.
  let wakePending = false;
  const keepWake = () => {
    wakePending = true;
  };
  let wake: () => void = keepWake;

  const runOne = async (job: ProbeJob) => {
    const attempt = new HeldAttempt(pool, job, settings, options.logger, emit);
    let result: { durationMs: number; inconclusive: boolean } | null = null;
    throttle.started(job.target);
    try {
      // A probe that ignores its signal is left behind once the lease is gone: its slot is free again,
      // and nothing it returns later could be stored.
      const report = await Promise.race([options.run(job, attempt.handle()), attempt.leaseGone]);
      if (report) await attempt.store(report);
      result = report && { durationMs: report.durationMs, inconclusive: report.verdict === 'inconclusive' };
    } catch (error) {
      await attempt.fail(error);
    } finally {
      attempt.end();
      const before = throttle.allowance(job.target);
      throttle.finished(job.target, result);
      const allowance = throttle.allowance(job.target);
      if (allowance !== before) {
        emit({ kind: 'allowance', target: job.target, allowance });
        options.logger.info({ target: job.target, allowance }, 'claim allowance for the target changed');
      }
    }
  };

  let reclaimedAt = 0;
  // At most once per pollMs, not at every wake-up: each finished job wakes every agent, and a reclaim is a
  // transaction of its own.
  const reclaimDue = async () => {
    if (Date.now() - reclaimedAt < settings.pollMs) return;
    reclaimedAt = Date.now();
    for (const job of await reclaimProbeJobs(pool, {
      deadlineGraceMs: settings.deadlineGraceMs,
      policy: settings.retry
    })) {
      emit({ kind: 'reclaimed', cause: job.cause });
      if (job.status !== 'failed')
        emit({
          kind: 'retry',
          target: job.target,
          reason: job.cause === 'deadline' ? 'SYNCSCOPE_E_PROBE_DEADLINE' : 'SYNCSCOPE_E_JOB_LEASE_LOST'
        });
      options.logger.warn({ jobId: job.id, cause: job.cause, status: job.status }, job.error);
    }
  };

  const poll = async () => {
    await reclaimDue();
    const limits = (await options.targetLimits?.()) ?? {};
    while (!stopped && running.size < settings.concurrency) {
      const job = await claimProbeJob(pool, options.agent, settings, { limits, paused: throttle.paused() });
      if (!job) break;
      const task = runOne(job).finally(() => {
        running.delete(task);
        wake();
      });
      running.add(task);
    }
  };

  const loop = async () => {
    while (!stopped) {
      await poll().catch((error: unknown) =>
        options.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'job poll failed'
        )
      );
      await new Promise<void>((resolve) => {
        if (wakePending || stopped) {
          wakePending = false;
          return resolve();
        }
        const woken = () => {
          clearTimeout(timer);
          wake = keepWake;
          resolve();
        };
        const timer = setTimeout(woken, settings.pollMs);
        wake = woken;
      });
    }
  };
  listener.on('notification', (message) => {
    // A job queued, or one finished (its slot under a target's limit is free again).
    if (/"status":"(queued|done|failed)"/.test(message.payload ?? '')) wake();
  });
  const looping = loop();

  return {
    async stop() {
      stopped = true;
      wake();
      await looping;
      await Promise.allSettled(running);
      await listener.end().catch(() => {});
      await pool.end();
    }
  };
}

/**
 * One claimed attempt: beats the heartbeat (which extends the lease and carries progress), aborts the
 * probe at its deadline or when the lease is found lost, and stores the result under the lease.
 */
class HeldAttempt {
  private readonly lease: JobLease;
  private readonly controller = new AbortController();
  private readonly claimedAt = Date.now();
  private readonly log: Logger;
  private latest: ProbeProgress = {};
  private lastSent = 0;
  private leaseLost = false;
  private resolveLeaseGone: (value: null) => void = () => {};
  /** Resolves (null) when the lease is found lost. */
  readonly leaseGone = new Promise<null>((resolve) => {
    this.resolveLeaseGone = resolve;
  });
  private sending = Promise.resolve();
  private readonly beat: NodeJS.Timeout;
  private deadline: NodeJS.Timeout;

  constructor(
    private readonly pool: pg.Pool,
    private readonly job: ProbeJob,
    private readonly settings: Settings,
    logger: Logger,
    private readonly emit: (event: JobWorkerEvent) => void
  ) {
    this.lease = leaseOf(job);
    this.log = logger.child({ jobId: job.id, target: job.target, attempt: job.attempts });
    this.log.info('probe job claimed');
    this.beat = setInterval(() => this.send(this.latest), settings.heartbeatMs);
    this.deadline = this.deadlineTimer(settings.deadlineMs);
  }

  handle(): JobAttempt {
    return {
      signal: this.controller.signal,
      progress: (p) => this.progress(p),
      setDeadline: async (deadlineMs) => {
        clearTimeout(this.deadline);
        this.deadline = this.deadlineTimer(deadlineMs);
        if (!(await setJobDeadline(this.pool, this.lease, deadlineMs))) this.lost();
      }
    };
  }

  private deadlineTimer(deadlineMs: number): NodeJS.Timeout {
    const left = Math.max(0, this.claimedAt + deadlineMs - Date.now());
    return setTimeout(() => this.controller.abort('SYNCSCOPE_E_PROBE_DEADLINE'), left);
  }

  private progress(p: ProbeProgress): void {
    const phaseChanged = p.phase !== this.latest.phase;
    this.latest = p;
    // A scheduled job's progress rides on the heartbeat: nobody waits on a sweep's jobs one by one, and
    // each update sent is a commit (~8 per light probe, as many as the rest of its job). A console job's
    // phase changes go out at once; op counts at most every 100 ms; in order, one after the other.
    if (this.job.requestedBy.startsWith(SCHEDULED_BY)) return;
    if (!phaseChanged && Date.now() - this.lastSent < 100) return;
    this.send(p);
  }

  private send(p: ProbeProgress): void {
    this.lastSent = Date.now();
    this.sending = this.sending.then(() =>
      reportProbeProgress(this.pool, this.lease, p, this.settings.leaseMs).then(
        (held) => {
          if (!held) this.lost();
        },
        // An unreachable ops database is not a lost lease: the queue decides, once the lease runs out.
        (error: Error) => this.log.warn({ err: error.message }, 'heartbeat failed')
      )
    );
  }

  private lost(): void {
    if (this.leaseLost) return;
    this.leaseLost = true;
    this.resolveLeaseGone(null);
    this.log.warn('lease on the job lost (reclaimed by the queue): stopping the probe, storing nothing');
    this.emit({ kind: 'lease-lost', target: this.job.target });
    this.controller.abort('SYNCSCOPE_E_JOB_LEASE_LOST');
  }

  async store(report: ProbeReport | WriteProbeReport): Promise<void> {
    await this.sending;
    if (this.leaseLost) return;
    const outcome = await storeJobResult(this.pool, this.lease, this.job, report, this.settings.retry);
    if (!outcome.stored) return this.lost();
    if (!outcome.final) {
      this.emit({ kind: 'retry', target: this.job.target, reason: report.reason?.code ?? report.verdict });
    }
    this.log.info(
      { verdict: report.verdict, runId: outcome.runId, status: outcome.status },
      'probe job attempt stored'
    );
  }

  async fail(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error({ err: message }, 'probe job failed');
    await failProbeJob(this.pool, this.lease, message).catch(() => {});
  }

  end(): void {
    clearInterval(this.beat);
    clearTimeout(this.deadline);
  }
}
