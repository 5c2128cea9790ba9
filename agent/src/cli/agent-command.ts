import { readRunRetention } from '@syncscope/core/fleet-results/retention-config';
import { ExpectedStateWorker } from '@syncscope/core/probe/expected/expected-state-worker';
import { RETRY_DEFAULTS } from '@syncscope/core/probe-jobs/job-state-machine';
import { WORKER_DEFAULTS } from '@syncscope/core/probe-jobs/probe-job-worker';
import { startCanaries } from '../canaries/canary-holder.ts';
import { startRunMaintenance } from '../fleet-results/run-maintenance-loop.ts';
import { registerJobMetrics } from '../metrics/job-metrics.ts';
import { openOpsDatabase, warnAboutSourceRoles } from '../probe/probe-target.ts';
import { targetsSource } from '../probe/resolve-target.ts';
import { startReplicationHealthPoller } from '../replication-health/replication-health-poller.ts';
import { startRulesCoveragePoller } from '../rules-insight/rules-coverage-poller.ts';
import { startAgentServer } from '../server/agent-server.ts';
import { AGENT_TOKEN_ENV } from '../server/agent-token-env.ts';
import { allowedHostNames } from '../server/allowed-hosts.ts';
import { startProbeJobRunner } from '../worker/probe-job-runner.ts';
import { startProbeScheduler } from '../worker/probe-scheduler.ts';
import { logAuditHead } from './audit-commands.ts';
import type { CommandContext } from './command-context.ts';
import { EXIT } from './verdict-exit.ts';

export interface AgentCommandOptions {
  port: number;
  host: string;
  targets?: string;
  allowedHost: string[];
  opsDb?: string;
  partitionHelpers?: number;
  jobLeaseSeconds?: number;
  jobDeadlineSeconds?: number;
  jobRetryBaseSeconds?: number;
  jobRetryCapSeconds?: number;
  jobConcurrency?: number;
  runRetentionDays?: string;
}

/** The agent's job-queue flags as the runner's settings (undefined: the worker's defaults). */
function jobQueueSettings(opts: AgentCommandOptions) {
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
  const leaseMs = ms(opts.jobLeaseSeconds);
  return {
    leaseMs,
    // Three beats per lease, so one lost beat does not cost the lease.
    heartbeatMs:
      leaseMs === undefined ? undefined : Math.min(WORKER_DEFAULTS.heartbeatMs, Math.round(leaseMs / 3)),
    deadlineMs: ms(opts.jobDeadlineSeconds),
    retry: {
      ...RETRY_DEFAULTS,
      baseMs: ms(opts.jobRetryBaseSeconds) ?? RETRY_DEFAULTS.baseMs,
      capMs: ms(opts.jobRetryCapSeconds) ?? RETRY_DEFAULTS.capMs
    }
  };
}

/**
 * `syncscope agent`: the HTTP API and metrics, the console's probe jobs (with an ops database), the
 * scheduled probes and the replication-health poller, until `untilStopped` resolves.
 */
export async function runAgentCommand(
  opts: AgentCommandOptions,
  ctx: CommandContext & {
    untilStopped: () => Promise<string>;
    onAgentListening?: (url: string) => void;
  }
): Promise<number> {
  const token = ctx.env[AGENT_TOKEN_ENV] || undefined;
  const retention = readRunRetention(ctx.env, opts);
  const logger = await ctx.logger('info');
  const targets = targetsSource(opts.targets, ctx.env);
  // One kept thread computes every probe's expected state, off the thread the clients sync on.
  const expectedStateWorker = new ExpectedStateWorker({ partitionHelpers: opts.partitionHelpers });
  expectedStateWorker.start().catch((error: Error) => {
    logger.warn({ err: error.message }, 'expected states will be computed in-thread');
  });
  const opsUrl = opts.opsDb ?? (ctx.env.SYNCSCOPE_OPS_DATABASE_URL || undefined);
  const ops = await openOpsDatabase(opsUrl);
  const common = { targets, logger, scrubber: ctx.scrubber };
  const server = await startAgentServer({
    ...common,
    host: opts.host,
    port: opts.port,
    token,
    allowedHosts: allowedHostNames(opts.allowedHost, ctx.env),
    ops,
    expectedStateWorker
  }).catch(async (error: unknown) => {
    await ops?.close();
    await expectedStateWorker.close();
    throw error;
  });
  if (ops) await logAuditHead(ops.pool, logger);
  const jobs =
    ops && opsUrl
      ? await startProbeJobRunner({
          ...common,
          opsDatabaseUrl: opsUrl,
          ops,
          metrics: server.metrics,
          onJobEvent: registerJobMetrics(server.metrics.registry, ops.pool).record,
          expectedStateWorker,
          concurrency: opts.jobConcurrency,
          ...jobQueueSettings(opts)
        })
      : undefined;
  const schedule = await startProbeScheduler({
    ...common,
    metrics: server.metrics,
    ops
  });
  const maintenance = ops
    ? startRunMaintenance({ ops, retention, logger, registry: server.metrics.registry })
    : undefined;
  const replication = await startReplicationHealthPoller({
    ...common,
    registry: server.metrics.registry,
    ops
  });
  const coverage = await startRulesCoveragePoller({
    ...common,
    registry: server.metrics.registry,
    ops
  });
  const canaries = await startCanaries({ ...common, registry: server.metrics.registry, ops });
  const heldCanaries = [...canaries.held.values()].reduce((n, c) => n + c.length, 0);
  ctx.out(
    `SyncScope agent listening on ${server.url} (GET /metrics, GET /healthz, POST /probes with a bearer token${ops ? '' : ': refused without an ops database to audit in'})${jobs ? "; running the console's probe jobs" : ''}${schedule.scheduled ? `; ${schedule.scheduled} schedules` : ''}${heldCanaries ? `; ${heldCanaries} live canaries` : ''}\n`
  );
  ctx.onAgentListening?.(server.url);
  void warnAboutSourceRoles(targets, ctx.scrubber, logger);
  const signal = await ctx.untilStopped();
  ctx.out(`${signal}: stopping the agent\n`);
  await canaries.stop();
  await coverage.stop();
  await maintenance?.stop();
  await schedule.stop();
  await replication.stop();
  await jobs?.stop();
  await ops?.close();
  await server.close();
  await expectedStateWorker.close();
  return EXIT.ok;
}
