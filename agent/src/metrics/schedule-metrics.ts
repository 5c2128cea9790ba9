import { Gauge, type Registry } from 'prom-client';

/**
 * What the agent's probe schedule promises, so an alert can tell "no probe for three intervals" from
 * "no schedule" and from "the agent started a minute ago" (SyncScopeAgentNotProbing in
 * prometheus/rules/syncscope.yml). Only targets with a schedule get series.
 */
export interface ScheduleMetrics {
  interval: Gauge<'target'>;
  started: Gauge<'target'>;
  /** Marks `target` as probed every `everySeconds` from now on. */
  scheduled(target: string, everySeconds: number): void;
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
  return {
    interval,
    started,
    scheduled(target, everySeconds) {
      interval.set({ target }, everySeconds);
      started.set({ target }, Date.now() / 1000);
    }
  };
}
