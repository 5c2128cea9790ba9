import type { BudgetReport } from '@syncscope/core/rules-insight/budgets/compute-budgets';
import { Gauge, type Registry } from 'prom-client';

/**
 * Bucket-budget metrics. Labels: `target` and `threshold` (rules_insight.bucket_thresholds and the
 * limit: at most 6 per target; a threshold taken out of the file loses its series).
 */
export const BUCKET_BUDGET_METRICS = {
  usersOverThreshold: 'syncscope_users_over_bucket_threshold'
} as const;

export interface BucketBudgetMetrics {
  record(target: string, report: BudgetReport): void;
}

export function createBucketBudgetMetrics(registry: Registry): BucketBudgetMetrics {
  const over = new Gauge({
    name: BUCKET_BUDGET_METRICS.usersOverThreshold,
    help: 'Users whose parameter queries give more buckets than the threshold (the highest threshold is rules_insight.bucket_limit, the service’s max_buckets_per_connection).',
    labelNames: ['target', 'threshold'] as const,
    registers: [registry]
  });
  const thresholdsOf = new Map<string, Set<string>>();
  return {
    record(target, report) {
      const now = new Set(report.over.map((o) => String(o.threshold)));
      for (const t of thresholdsOf.get(target) ?? []) if (!now.has(t)) over.remove({ target, threshold: t });
      thresholdsOf.set(target, now);
      for (const o of report.over) over.set({ target, threshold: String(o.threshold) }, o.users);
    }
  };
}
