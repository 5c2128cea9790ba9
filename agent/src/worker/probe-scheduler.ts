import os from 'node:os';
import { isSyncScopeError, type Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeSchedule, ProbeTarget } from '@syncscope/core/probe/probe-types';
import { type ExpansionStep, expandSchedules } from '@syncscope/core/schedules/expand-schedules';
import {
  currentPeriods,
  probeIntervalSeconds,
  type ScheduleKind
} from '@syncscope/core/schedules/schedule-periods';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { createScheduleMetrics } from '../metrics/schedule-metrics.ts';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { assertTargetStreams, auditUnavailable } from '../probe/probe-target.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';

export interface ProbeScheduler {
  /** Schedules (a target's canaries, sample or sweep) found at start. */
  readonly scheduled: number;
  /** Runs one round of expansion now (tests; the agent's timer runs them on its own). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export const SCHEDULER_DEFAULTS = { tickMs: 2_000 };

/**
 * Turns the targets' schedules into probe jobs in the ops database (core/src/schedules/), which this
 * agent's job runner and every other agent's claim by capacity: however many agents run, each user is
 * probed once per period. Every agent ticks; the period rows' locks let one expand each period. Jobs are
 * requested by `schedule:<agent name>`, so their tokens are audited as that actor. Without an ops database
 * nothing is scheduled (no unaudited probes).
 */
export async function startProbeScheduler(options: {
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  metrics?: AgentMetrics;
  ops?: OpsDatabase;
  /** Names the agent in the jobs' `requested_by` and so the audit log (default host:pid, as the job runner). */
  agentName?: string;
  tickMs?: number;
  /** Sweep expansion: users per page, and how many of a target's scheduled jobs may wait before the next. */
  pageSize?: number;
  maxWaiting?: number;
}): Promise<ProbeScheduler> {
  const agent = options.agentName ?? `${os.hostname()}:${process.pid}`;
  const log = options.logger.child({ part: 'schedule' });
  const metrics = options.metrics && createScheduleMetrics(options.metrics.registry);
  const ops = options.ops;
  const names: string[] = [];
  let scheduled = 0;
  for (const name of await targetNames(options.targets)) {
    const target = await resolveTarget(options.targets, name, options.scrubber).catch((error: unknown) => {
      log.warn(
        { target: name, err: (error as Error).message },
        'target not loadable; nothing scheduled for it'
      );
      return null;
    });
    if (!target?.schedule) continue;
    if (!ops) {
      log.warn({ target: name, err: auditUnavailable('A scheduled probe').message }, 'nothing scheduled');
      continue;
    }
    names.push(name);
    const kinds = scheduleKinds(target.schedule);
    scheduled += kinds.length;
    metrics?.scheduled(name, probeIntervalSeconds(target.schedule) ?? 0, kinds);
  }
  const warned = new Set<string>();

  const expandTarget = async (name: string) => {
    // Read again every tick, so rotated secrets, edited rules and schedules apply.
    const target = await resolveTarget(options.targets, name, options.scrubber);
    if (!target.schedule || !ops) return;
    const scheduledTarget = { ...target, schedule: target.schedule };
    const schedule = { ...target.schedule, users: await subscribableCanaries(scheduledTarget, log, warned) };
    const steps = await expandSchedules({
      pool: ops.pool,
      agent,
      target: { ...target, schedule },
      pageSize: options.pageSize,
      maxWaiting: options.maxWaiting
    });
    for (const step of steps) if (step.enqueued > 0) metrics?.enqueued(name, step.kind, step.enqueued);
    logSteps(log, name, steps);
  };

  const tick = async () => {
    for (const name of names) {
      await expandTarget(name).catch((error: unknown) => {
        const code = isSyncScopeError(error) ? error.code : 'SYNCSCOPE_E_INTERNAL_ERROR';
        metrics?.expansionFailed(name, code);
        log.error({ target: name, code, err: (error as Error).message }, 'schedule not expanded into jobs');
      });
    }
  };

  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    current = current.then(() => (stopped ? undefined : tick()));
  }, options.tickMs ?? SCHEDULER_DEFAULTS.tickMs);
  if (names.length > 0) {
    current = tick();
    log.info({ scheduled, targets: names }, 'schedules expanded into probe jobs');
  }
  return {
    scheduled,
    tick: () => {
      current = current.then(tick);
      return current;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    }
  };
}

function scheduleKinds(schedule: ProbeSchedule): ScheduleKind[] {
  return currentPeriods(schedule, new Date()).map((period) => period.kind);
}

/** The canaries whose streams the rules define; a stream they lack would only store an error run at every period. */
async function subscribableCanaries(
  target: ProbeTarget & { schedule: ProbeSchedule },
  log: Logger,
  warned: Set<string>
): Promise<ProbeSchedule['users']> {
  const kept: ProbeSchedule['users'] = [];
  for (const canary of target.schedule.users) {
    const refused = await assertTargetStreams(target, canary.subscriptions).then(
      () => null,
      (error: Error) => error
    );
    if (!refused) kept.push(canary);
    else if (!warned.has(`${target.name}\u0000${canary.userId}`)) {
      warned.add(`${target.name}\u0000${canary.userId}`);
      log.warn({ target: target.name, err: refused.message }, 'scheduled user not probed: unknown stream');
    }
  }
  return kept;
}

function logSteps(log: Logger, target: string, steps: ExpansionStep[]): void {
  const enqueued = steps.reduce((sum, s) => sum + s.enqueued, 0);
  if (enqueued > 0) log.info({ target, enqueued }, 'scheduled probe jobs queued');
}
