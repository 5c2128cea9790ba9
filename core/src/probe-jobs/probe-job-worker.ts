import pg from 'pg';
import type { Logger } from '../logging/logger.ts';
import {
  claimProbeJob,
  completeProbeJob,
  failProbeJob,
  PROBE_JOBS_CHANNEL,
  type ProbeJob,
  type ProbeProgress,
  recoverStaleProbeJobs,
  reportProbeProgress
} from './probe-jobs.ts';

export interface ProbeJobWorkerOptions {
  opsDatabaseUrl: string;
  /** This agent's name in the job table (host and pid by default). */
  agent: string;
  logger: Logger;
  /** Runs one job; reports progress through `progress`; resolves with the stored run. */
  run: (
    job: ProbeJob,
    progress: (p: ProbeProgress) => void
  ) => Promise<{ runId: string; report: { verdict: string } }>;
  concurrency?: number;
  pollMs?: number;
  heartbeatMs?: number;
  /** A running job without a heartbeat for this long is considered abandoned by its agent. */
  staleAfterMs?: number;
}

export interface ProbeJobWorker {
  /** Resolves once running jobs have finished. */
  stop(): Promise<void>;
}

export const WORKER_DEFAULTS = { concurrency: 2, pollMs: 2_000, heartbeatMs: 2_000, staleAfterMs: 15_000 };

/**
 * Claims and runs probe jobs until stopped. It wakes on NOTIFY of a queued job (so a click in the console
 * starts a probe at once) and polls as a fallback; every poll also recovers jobs of agents that died.
 */
export async function startProbeJobWorker(options: ProbeJobWorkerOptions): Promise<ProbeJobWorker> {
  // Options left undefined keep their defaults (a spread would overwrite them with undefined).
  const settings = {
    concurrency: options.concurrency ?? WORKER_DEFAULTS.concurrency,
    pollMs: options.pollMs ?? WORKER_DEFAULTS.pollMs,
    heartbeatMs: options.heartbeatMs ?? WORKER_DEFAULTS.heartbeatMs,
    staleAfterMs: options.staleAfterMs ?? WORKER_DEFAULTS.staleAfterMs
  };
  const pool = new pg.Pool({ connectionString: options.opsDatabaseUrl, max: settings.concurrency + 2 });
  pool.on('error', (err) => options.logger.warn({ err: err.message }, 'ops database connection lost'));
  const listener = new pg.Client({ connectionString: options.opsDatabaseUrl });
  listener.on('error', (err) => options.logger.warn({ err: err.message }, 'ops database listener lost'));
  await listener.connect();
  await listener.query(`LISTEN ${PROBE_JOBS_CHANNEL}`);

  const running = new Set<Promise<void>>();
  let stopped = false;
  let wake: () => void = () => {};

  const runOne = async (job: ProbeJob) => {
    const log = options.logger.child({ jobId: job.id, target: job.target });
    let latest: ProbeProgress = {};
    let owned = true;
    const beat = setInterval(() => {
      void reportProbeProgress(pool, job.id, options.agent, latest).then((ok) => {
        owned = ok;
      });
    }, settings.heartbeatMs);
    let lastSent = 0;
    let sending = Promise.resolve();
    const progress = (p: ProbeProgress) => {
      const phaseChanged = p.phase !== latest.phase;
      latest = p;
      // Phase changes go out at once; op counts at most every 100 ms; in order, one after the other.
      if (!phaseChanged && Date.now() - lastSent < 100) return;
      lastSent = Date.now();
      sending = sending.then(() =>
        reportProbeProgress(pool, job.id, options.agent, p).then(
          () => {},
          () => {}
        )
      );
    };
    try {
      log.info({ attempt: job.attempts }, 'probe job claimed');
      const result = await options.run(job, progress);
      await sending;
      if (owned) await completeProbeJob(pool, job.id, options.agent, result);
      log.info({ verdict: result.report.verdict, runId: result.runId }, 'probe job done');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log.error({ err: message }, 'probe job failed');
      await failProbeJob(pool, job.id, message).catch(() => {});
    } finally {
      clearInterval(beat);
    }
  };

  const loop = async () => {
    while (!stopped) {
      try {
        await recoverStaleProbeJobs(pool, settings.staleAfterMs);
        while (!stopped && running.size < settings.concurrency) {
          const job = await claimProbeJob(pool, options.agent);
          if (!job) break;
          const task = runOne(job).finally(() => {
            running.delete(task);
            wake();
          });
          running.add(task);
        }
      } catch (error) {
        options.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'job poll failed'
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  listener.on('notification', (message) => {
    if (message.payload?.includes('"status":"queued"')) wake();
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
