import type { CanaryStatus } from '@syncscope/core/canary/held-canary';
import { PROBE_VERDICTS } from '@syncscope/core/probe/verdicts';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The canaries' metrics. Labels: `target` and `verdict` (the four of verdicts.ts); never a user id. */
export const CANARY_METRICS = {
  canaries: 'syncscope_canaries',
  freshness: 'syncscope_freshness_seconds',
  markerFailures: 'syncscope_freshness_marker_failures_total'
} as const;

/** Write → arrival on a canary's stream: sub-second when healthy, minutes when replication stalls. */
const FRESHNESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface CanaryMetrics {
  /** Zeroes the target's series at start, so alerts see 0 rather than nothing. */
  target(target: string): void;
  /** Sets the target's canaries-by-verdict gauge from its canaries' current statuses. */
  statuses(target: string, statuses: readonly CanaryStatus[]): void;
  freshness(target: string, seconds: number): void;
  markerFailed(target: string): void;
}

export function createCanaryMetrics(registry: Registry): CanaryMetrics {
  const registers = [registry];
  const canaries = new Gauge({
    name: CANARY_METRICS.canaries,
    help: 'Live canaries held by this agent, by their current verdict.',
    labelNames: ['target', 'verdict'] as const,
    registers
  });
  const freshness = new Histogram({
    name: CANARY_METRICS.freshness,
    help: "Seconds from a freshness marker's upload through the target's write path to its arrival on a canary's sync stream.",
    labelNames: ['target'] as const,
    buckets: FRESHNESS_BUCKETS,
    registers
  });
  const markerFailures = new Counter({
    name: CANARY_METRICS.markerFailures,
    help: 'Freshness markers the write path did not accept (backend unreachable or refusing).',
    labelNames: ['target'] as const,
    registers
  });
  return {
    target(target) {
      markerFailures.inc({ target }, 0);
      for (const verdict of PROBE_VERDICTS) canaries.set({ target, verdict }, 0);
    },
    statuses(target, statuses) {
      for (const verdict of PROBE_VERDICTS)
        canaries.set({ target, verdict }, statuses.filter((s) => s.verdict === verdict).length);
    },
    freshness: (target, seconds) => freshness.observe({ target }, seconds),
    markerFailed: (target) => markerFailures.inc({ target })
  };
}
