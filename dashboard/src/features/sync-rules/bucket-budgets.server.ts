import 'server-only';
import {
  type BudgetReading,
  latestBudgetReading
} from '@syncscope/core/rules-insight/budgets/budget-history';
import { opsPool } from '@/server/ops-pool';

/**
 * The target's latest bucket-budget reading as an agent stored it (SELECT on one table of the ops
 * database): budgets scan every parameter row, too long for a page to wait on, so the agent computes them.
 */
export function bucketBudgetsOf(target: string): Promise<BudgetReading | undefined> {
  return latestBudgetReading(opsPool(), target);
}
