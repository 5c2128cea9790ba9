import type { JobWorkerEvent } from '@syncscope/core/probe-jobs/probe-job-worker';
import { probeJobBacklog } from '@syncscope/core/probe-jobs/probe-jobs';
import type pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface JobMetrics {
  /** Counts one retry, reclaim or lost lease (the job worker's onEvent). */
  record: (event: JobWorkerEvent) => void;
}

/**
 * The console job queue's metrics, in the agent's registry. The backlog gauges are read from the ops
 * database at scrape time (every agent reports the same queue; alert on max, not sum); the counters count
 * what this agent did. Labels: `target` (targets-file names), `reason` (catalogue codes), `cause`
 * (heartbeat, deadline), `status` (queued: waiting or due for retry; running).
 */
export function registerJobMetrics(registry: Registry, ops: Pick<pg.Pool, 'query'>): JobMetrics {
  const registers = [registry];
  new Gauge({
    name: 'syncscope_probe_jobs',
    help: 'Console probe jobs in the ops database by status: queued (incl. waiting to retry) and running.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      const backlog = await probeJobBacklog(ops).catch(() => null);
      if (!backlog) return;
      this.set({ status: 'queued' }, backlog.queued);
      this.set({ status: 'running' }, backlog.running);
    }
  });
  new Gauge({
    name: 'syncscope_probe_jobs_oldest_queued_age_seconds',
    help: 'How long the longest-waiting due job has waited to be claimed (0: none waiting).',
    registers,
    async collect() {
      const backlog = await probeJobBacklog(ops).catch(() => null);
      if (backlog) this.set(backlog.oldestQueuedAgeSeconds);
    }
  });
  const retries = new Counter({
    name: 'syncscope_probe_job_retries_total',
    help: 'Job attempts this agent scheduled again, by target and reason code (an inconclusive run, a deadline, a lost lease).',
    labelNames: ['target', 'reason'] as const,
    registers
  });
  const reclaimed = new Counter({
    name: 'syncscope_probe_jobs_reclaimed_total',
    help: 'Running jobs this agent reclaimed from their owner, by cause: heartbeat (lease expired) or deadline.',
    labelNames: ['cause'] as const,
    registers
  });
  for (const cause of ['heartbeat', 'deadline']) reclaimed.inc({ cause }, 0);
  const leasesLost = new Counter({
    name: 'syncscope_probe_job_leases_lost_total',
    help: 'Jobs this agent was running when it found its lease gone (reclaimed): it stopped the probe and stored nothing.',
    labelNames: ['target'] as const,
    registers
  });
  const allowance = new Gauge({
    name: 'syncscope_probe_claim_allowance',
    help: "Probes of the target this agent allows itself at once: below its capacity while the target's probes are slow or inconclusive (claim-throttle.ts). Only targets whose allowance changed.",
    labelNames: ['target'] as const,
    registers
  });
  return {
    record(event) {
      if (event.kind === 'retry') retries.inc({ target: event.target, reason: event.reason });
      else if (event.kind === 'reclaimed') reclaimed.inc({ cause: event.cause });
      else if (event.kind === 'allowance') allowance.set({ target: event.target }, event.allowance);
      else leasesLost.inc({ target: event.target });
    }
  };
}
