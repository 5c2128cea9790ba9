import {
  type InsightSettings,
  type InsightTarget,
  withRulesAnalysis
} from '../coverage/with-rules-analysis.ts';
import { type BudgetOptions, type BudgetReport, computeBudgets } from './compute-budgets.ts';

/** `rules_insight` as budgets read it (a resolved ProbeTarget has it). */
export interface BudgetTarget extends InsightTarget {
  rulesInsight?: { bucketLimit?: number; bucketThresholds?: number[] };
}

/** The target's bucket budgets, computed in one read-only snapshot of its source. */
export function readBudgets(
  target: BudgetTarget,
  settings: InsightSettings & Pick<BudgetOptions, 'listSize' | 'historySize'> = {}
): Promise<BudgetReport> {
  const { bucketLimit, bucketThresholds } = target.rulesInsight ?? {};
  return withRulesAnalysis(target, settings, (session, analysis) =>
    computeBudgets(session.client, analysis, {
      snapshotTakenAt: session.snapshotTakenAt,
      ...(bucketLimit ? { limit: bucketLimit } : {}),
      ...(bucketThresholds ? { thresholds: bucketThresholds } : {}),
      ...(settings.listSize ? { listSize: settings.listSize } : {}),
      ...(settings.historySize ? { historySize: settings.historySize } : {})
    })
  );
}
