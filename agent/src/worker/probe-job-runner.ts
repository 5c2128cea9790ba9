import os from 'node:os';
import type { Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { type ProbeJobWorker, startProbeJobWorker } from '@syncscope/core/probe-jobs/probe-job-worker';
import type { ProbeProgress } from '@syncscope/core/probe-jobs/probe-jobs';
import { WRITE_PROBE_LEGS, type WriteProbeLeg } from '@syncscope/core/write-probe/write-probe-types';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { errorReport, type ProbeRequest, probeTarget } from '../probe/probe-target.ts';
import { resolveTarget, type TargetsSource } from '../probe/resolve-target.ts';
import { writeProbeTarget } from '../probe/write-probe-target.ts';

export interface ProbeJobRunnerOptions {
  opsDatabaseUrl: string;
  ops: OpsDatabase;
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  metrics?: AgentMetrics;
  expectedStateWorker?: ProbeRequest['expectedStateWorker'];
  agentName?: string;
  concurrency?: number;
  staleAfterMs?: number;
}

/**
 * The agent's side of the console's job queue: claims probe jobs, runs them as the person who asked
 * (audited with their reason), streams phases and op counts, and stores the run. A target that cannot
 * be loaded still ends in a stored run with an error verdict, so the console always has an answer.
 */
export function startProbeJobRunner(options: ProbeJobRunnerOptions): Promise<ProbeJobWorker> {
  return startProbeJobWorker({
    opsDatabaseUrl: options.opsDatabaseUrl,
    agent: options.agentName ?? `${os.hostname()}:${process.pid}`,
    logger: options.logger.child({ part: 'probe-jobs' }),
    concurrency: options.concurrency,
    staleAfterMs: options.staleAfterMs,
    run: async (job, progress) => {
      let phase = 'starting';
      const send = (p: ProbeProgress) => progress(p);
      send({ phase });
      let runId: string | undefined;
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
        onPhase: (next: string) => {
          phase = next;
          send({ phase });
        },
        onSyncProgress: (ops: { done: number; total: number | null }) => send({ phase, ops }),
        onRecorded: (id: string) => {
          runId = id;
        }
      };
      let report: { verdict: string };
      try {
        const target = await resolveTarget(options.targets, job.target, options.scrubber);
        report =
          job.kind === 'write'
            ? await writeProbeTarget({
                ...request,
                target,
                onLeg: (leg) => send({ phase: nextWriteLeg(leg) })
              })
            : await probeTarget({ ...request, target, subscriptions: job.subscriptions });
      } catch (error) {
        const failed = {
          ...errorReport({ name: job.target, audience: '', signing: { kid: '' } }, job.userId, error),
          subscriptions: job.subscriptions
        };
        runId = await options.ops.recordProbeRun(failed, { jobId: job.id, requestedBy: job.requestedBy });
        report = failed;
      }
      if (!runId) throw new Error('the probe finished but its run was not stored');
      return { runId, report };
    }
  });
}

/** The write probe's phase after a leg: the next leg, or where it stopped. */
function nextWriteLeg(leg: WriteProbeLeg): string {
  if (leg.status !== 'passed') return `${leg.leg} ${leg.status}`;
  return WRITE_PROBE_LEGS[WRITE_PROBE_LEGS.indexOf(leg.leg) + 1] ?? 'cleanup';
}
