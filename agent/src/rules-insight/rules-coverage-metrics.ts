import type { CoverageReport } from '@syncscope/core/rules-insight/coverage/compute-coverage';
import { Gauge, type Registry } from 'prom-client';

/**
 * Coverage metrics, registered into the agent's registry. Labels: `target` (targets file) and `table`
 * (`schema.name` of a table the rules sync: bounded by the rules; a table that leaves them loses its series).
 */
export const RULES_COVERAGE_METRICS = {
  uncoveredRows: 'syncscope_rules_uncovered_rows',
  usersWithoutBuckets: 'syncscope_rules_users_without_buckets',
  lastSuccess: 'syncscope_rules_coverage_last_success_timestamp_seconds',
  interval: 'syncscope_rules_coverage_interval_seconds'
} as const;

export interface RulesCoverageMetrics {
  /** Sets the reading's series; tables no longer in it lose theirs. */
  record(target: string, report: CoverageReport, at: Date): void;
  interval(target: string, seconds: number): void;
}

export function createRulesCoverageMetrics(registry: Registry): RulesCoverageMetrics {
  const registers = [registry];
  const m = RULES_COVERAGE_METRICS;
  const rows = new Gauge({
    name: m.uncoveredRows,
    help: 'Rows of a synced table that no data query puts in a bucket a user holds (syncscope rules coverage).',
    labelNames: ['target', 'table'] as const,
    registers
  });
  const users = new Gauge({
    name: m.usersWithoutBuckets,
    help: 'Known users (user_search) no parameter query gives a bucket; absent when the rules make it unknowable.',
    labelNames: ['target'] as const,
    registers
  });
  const lastSuccess = new Gauge({
    name: m.lastSuccess,
    help: "When the target's coverage was last computed (Unix seconds).",
    labelNames: ['target'] as const,
    registers
  });
  const interval = new Gauge({
    name: m.interval,
    help: "Seconds between coverage readings (the targets file's rules_insight.every_seconds).",
    labelNames: ['target'] as const,
    registers
  });
  const tablesOf = new Map<string, Set<string>>();
  return {
    record(target, report, at) {
      const now = new Set(report.tables.map((t) => t.table));
      for (const table of tablesOf.get(target) ?? []) if (!now.has(table)) rows.remove({ target, table });
      tablesOf.set(target, now);
      for (const t of report.tables) rows.set({ target, table: t.table }, t.rowsInNoBucket);
      if (report.usersWithoutBuckets) users.set({ target }, report.usersWithoutBuckets.count);
      else users.remove({ target });
      lastSuccess.set({ target }, at.getTime() / 1000);
    },
    interval(target, seconds) {
      interval.set({ target }, seconds);
    }
  };
}
