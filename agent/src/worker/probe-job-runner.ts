import os from 'node:os';
import type { Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { RetryPolicy } from '@syncscope/core/probe-jobs/job-state-machine';
import {
  type JobWorkerEvent,
  type ProbeJobWorker,
  startProbeJobWorker
} from '@syncscope/core/probe-jobs/probe-job-worker';
import type { ProbeProgress } from '@syncscope/core/probe-jobs/probe-jobs';
import { WRITE_PROBE_LEGS, type WriteProbeLeg } from '@syncscope/core/write-probe/write-probe-types';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { errorReport, type ProbeRequest, runProbeTarget } from '../probe/probe-target.ts';
import { resolveTarget, type TargetsSource, targetLimits } from '../probe/resolve-target.ts';
import { runWriteProbeTarget } from '../probe/write-probe-target.ts';

export interface ProbeJobRunnerOptions {
  opsDatabaseUrl: string;
  ops: OpsDatabase;
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  metrics?: AgentMetrics;
  /** Counts retries, reclaims and lost leases (the agent's job metrics). */
  onJobEvent?: (event: JobWorkerEvent) => void;
  expectedStateWorker?: ProbeRequest['expectedStateWorker'];
  agentName?: string;
  concurrency?: number;
  pollMs?: number;
  heartbeatMs?: number;
  leaseMs?: number;
  /** An attempt's deadline unless its target sets `job_deadline_seconds`. */
  deadlineMs?: number;
  deadlineGraceMs?: number;
  retry?: RetryPolicy;
  /**
   * Runs a read probe (default: the engine, runProbeTarget). Only the queue-mechanics kill test passes
   * a light one, so 300 jobs fit in its time; everything around it is this runner's real path.
   */
  readProbe?: typeof runProbeTarget;
}

/**
 * The agent's side of the console's job queue: claims probe jobs, runs them as the person who asked
 * (audited with their reason), streams phases and op counts, and hands the report to the worker, which
 * stores it under the job's lease. A target that cannot be loaded still ends in an error run, so the
 * console always has an answer.
 */
export function startProbeJobRunner(options: ProbeJobRunnerOptions): Promise<ProbeJobWorker> {
  return startProbeJobWorker({
    opsDatabaseUrl: options.opsDatabaseUrl,
    agent: options.agentName ?? `${os.hostname()}:${process.pid}`,
    logger: options.logger.child({ part: 'probe-jobs' }),
    onEvent: options.onJobEvent,
    concurrency: options.concurrency,
    targetLimits: readAtMostEvery(5_000, () => targetLimits(options.targets)),
    pollMs: options.pollMs,
    heartbeatMs: options.heartbeatMs,
    leaseMs: options.leaseMs,
    deadlineMs: options.deadlineMs,
    deadlineGraceMs: options.deadlineGraceMs,
    retry: options.retry,
    run: async (job, attempt) => {
      let phase = 'starting';
      const send = (p: ProbeProgress) => attempt.progress(p);
      send({ phase });
      const request = {
        userId: job.userId,
        claims: Object.keys(job.claims).length > 0 ? job.claims : undefined,
        logger: options.logger,
        metrics: options.metrics,
        expectedStateWorker: options.expectedStateWorker,
        ops: options.ops,
        actor: job.requestedBy,
        reason: job.reason,
        jobId: job.id,
        signal: attempt.signal,
        onPhase: (next: string) => {
          phase = next;
          send({ phase });
        },
        onSyncProgress: (ops: { done: number; total: number | null }) => send({ phase, ops })
      };
      try {
        const target = await resolveTarget(options.targets, job.target, options.scrubber);
        if (target.jobDeadlineMs) await attempt.setDeadline(target.jobDeadlineMs);
        return job.kind === 'write'
          ? await runWriteProbeTarget({
              ...request,
              target,
              onLeg: (leg) => send({ phase: nextWriteLeg(leg) })
            })
          : await (options.readProbe ?? runProbeTarget)({
              ...request,
              target,
              subscriptions: job.subscriptions,
              mode: job.mode
            });
      } catch (error) {
        return {
          ...errorReport({ name: job.target, audience: '', signing: { kid: '' } }, job.userId, error),
          subscriptions: job.subscriptions
        };
      }
    }
  });
}

/** `read`, called at most once per `ms` (claims come in bursts; the targets file changes rarely). */
function readAtMostEvery<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at >= ms) last = { at: Date.now(), value: read() };
    return last.value;
  };
}

/** The write probe's phase after a leg: the next leg, or where it stopped. */
function nextWriteLeg(leg: WriteProbeLeg): string {
  if (leg.status !== 'passed') return `${leg.leg} ${leg.status}`;
  return WRITE_PROBE_LEGS[WRITE_PROBE_LEGS.indexOf(leg.leg) + 1] ?? 'cleanup';
}
