import os from 'node:os';
import type { Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { createScheduleMetrics } from '../metrics/schedule-metrics.ts';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import {
  assertTargetStreams,
  auditUnavailable,
  type ProbeRequest,
  probeTarget
} from '../probe/probe-target.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';

export interface ProbeScheduler {
  /** (target, user) pairs scheduled at start. */
  readonly scheduled: number;
  stop(): Promise<void>;
}

/**
 * Probes the users each target's `schedule` names, every `every_seconds`, so verdicts and metrics keep
 * coming without anyone asking (the console's trend, alerts on `syncscope_probe_runs_total`). A pair
 * whose previous probe still runs is skipped, not stacked. Runs are stored and their tokens audited as
 * actor `schedule:<agent name>`; without an ops database nothing is scheduled (no unaudited probes).
 * The first run of each pair is spread over its first interval.
 */
export async function startProbeScheduler(options: {
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  metrics?: AgentMetrics;
  ops?: OpsDatabase;
  expectedStateWorker?: ProbeRequest['expectedStateWorker'];
  /** Names the agent in the audit log's actor (default host:pid, as the job runner). */
  agentName?: string;
}): Promise<ProbeScheduler> {
  const actor = `schedule:${options.agentName ?? `${os.hostname()}:${process.pid}`}`;
  const log = options.logger.child({ part: 'schedule' });
  const timers: NodeJS.Timeout[] = [];
  const running = new Map<string, Promise<unknown>>();
  let stopped = false;
  let scheduled = 0;
  const scheduleMetrics = options.metrics && createScheduleMetrics(options.metrics.registry);
  for (const name of await targetNames(options.targets)) {
    const target = await resolveTarget(options.targets, name, options.scrubber).catch((error: unknown) => {
      log.warn(
        { target: name, err: (error as Error).message },
        'target not loadable; nothing scheduled for it'
      );
      return null;
    });
    if (!target?.schedule) continue;
    const ops = options.ops;
    if (!ops) {
      log.warn({ target: name, err: auditUnavailable('A scheduled probe').message }, 'nothing scheduled');
      continue;
    }
    const everyMs = target.schedule.everySeconds * 1000;
    scheduleMetrics?.scheduled(name, target.schedule.everySeconds);
    for (const [i, { userId, subscriptions }] of target.schedule.users.entries()) {
      // A stream the rules lack would only store an error run at every tick: say so once, skip the user.
      const refused = await assertTargetStreams(target, subscriptions).then(
        () => null,
        (error: Error) => error
      );
      if (refused) {
        log.warn({ target: name, err: refused.message }, 'scheduled user not probed: unknown stream');
        continue;
      }
      // One user may be scheduled with several sets of subscriptions: each is a pair of its own.
      const key = `${name}\u0000${userId}\u0000${JSON.stringify(subscriptions)}`;
      const tick = () => {
        if (stopped || running.has(key)) return;
        // The target is read again for every run, so rotated secrets and edited rules apply.
        const run = resolveTarget(options.targets, name, options.scrubber)
          .then((fresh) =>
            probeTarget({
              target: fresh,
              userId,
              subscriptions,
              logger: options.logger,
              metrics: options.metrics,
              expectedStateWorker: options.expectedStateWorker,
              ops,
              actor,
              reason: `scheduled probe every ${target.schedule?.everySeconds} s`
            })
          )
          .catch((error: unknown) =>
            log.error({ target: name, err: (error as Error).message }, 'scheduled probe failed')
          )
          .finally(() => running.delete(key));
        running.set(key, run);
      };
      const offset = Math.round((everyMs * i) / target.schedule.users.length);
      timers.push(
        setTimeout(() => {
          tick();
          timers.push(setInterval(tick, everyMs));
        }, offset)
      );
      scheduled++;
    }
  }
  if (scheduled > 0) log.info({ scheduled }, 'scheduled probes');
  return {
    scheduled,
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled(running.values());
    }
  };
}
