import type { ScheduleKind } from '@syncscope/core/schedules/schedule-periods';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What the agent's probe schedule promises, so an alert can tell "no probe for three intervals" from
 * "no schedule" and from "the agent started a minute ago" (SyncScopeAgentNotProbing in
 * prometheus/rules/syncscope.yml). Only targets with a schedule get series.
 */
export interface ScheduleMetrics {
  interval: Gauge<'target'>;
  started: Gauge<'target'>;
  /** Marks `target` as probed every `everySeconds` from now on, by these schedules. */
  scheduled(target: string, everySeconds: number, kinds?: readonly ScheduleKind[]): void;
  /** This agent queued `count` jobs of the target's schedule (canaries, sample or sweep). */
  enqueued(target: string, schedule: string, count: number): void;
  /** Expanding the target's schedule failed with this catalogue code. */
  expansionFailed(target: string, code: string): void;
}

export function createScheduleMetrics(registry: Registry): ScheduleMetrics {
  // One set per registry: an agent whose scheduler restarts keeps its gauges.
  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  const interval =
    existing<Gauge<'target'>>('syncscope_probe_schedule_interval_seconds') ??
    new Gauge({
      name: 'syncscope_probe_schedule_interval_seconds',
      help: "Seconds between a scheduled target's probes (the targets file's schedule.every_seconds).",
      labelNames: ['target'] as const,
      registers: [registry]
    });
  const started =
    existing<Gauge<'target'>>('syncscope_probe_schedule_started_timestamp_seconds') ??
    new Gauge({
      name: 'syncscope_probe_schedule_started_timestamp_seconds',
      help: "Unix time this agent started a target's probe schedule.",
      labelNames: ['target'] as const,
      registers: [registry]
    });
  const enqueued =
    existing<Counter<'target' | 'schedule'>>('syncscope_schedule_jobs_enqueued_total') ??
    new Counter({
      name: 'syncscope_schedule_jobs_enqueued_total',
      help: 'Probe jobs this agent queued from a schedule, by target and schedule (canaries, sample, sweep); each user once per period across all agents.',
      labelNames: ['target', 'schedule'] as const,
      registers: [registry]
    });
  const failures =
    existing<Counter<'target' | 'code'>>('syncscope_schedule_expansion_failures_total') ??
    new Counter({
      name: 'syncscope_schedule_expansion_failures_total',
      help: "Rounds in which this agent could not expand a target's schedule into jobs, by catalogue code (e.g. SYNCSCOPE_E_USERS_QUERY_INVALID).",
      labelNames: ['target', 'code'] as const,
      registers: [registry]
    });
  return {
    interval,
    started,
    scheduled(target, everySeconds, kinds = []) {
      interval.set({ target }, everySeconds);
      started.set({ target }, Date.now() / 1000);
      for (const schedule of kinds) enqueued.inc({ target, schedule }, 0);
    },
    enqueued: (target, schedule, count) => enqueued.inc({ target, schedule }, count),
    expansionFailed: (target, code) => failures.inc({ target, code })
  };
}
