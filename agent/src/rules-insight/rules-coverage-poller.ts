import os from 'node:os';
import type { Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { budgetTrends, storeBudgetReading } from '@syncscope/core/rules-insight/budgets/budget-history';
import { readBudgets } from '@syncscope/core/rules-insight/budgets/read-budgets';
import {
  RULES_INSIGHT_EVERY_SECONDS,
  readCoverage
} from '@syncscope/core/rules-insight/coverage/with-rules-analysis';
import type { Registry } from 'prom-client';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';
import { pollEachTarget } from '../worker/poll-each-target.ts';
import { createBucketBudgetMetrics } from './bucket-budget-metrics.ts';
import { createRulesCoverageMetrics } from './rules-coverage-metrics.ts';

export interface RulesCoveragePoller {
  /** Reads every target once now (what each timer does), and resolves when all are recorded. */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Computes every target's coverage and bucket budgets each `rules_insight.every_seconds` (default 300:
 * each reading scans the rules' tables), exports rows in no bucket per table and users over each bucket
 * threshold, and stores the budgets (with growth and forecast) in the ops database for the console. The
 * target is resolved again for every reading, so edits apply without a restart; a failed reading is
 * logged and leaves the last values, whose age the last-success gauge shows.
 */
export async function startRulesCoveragePoller(options: {
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  registry: Registry;
  ops?: OpsDatabase;
  agentName?: string;
}): Promise<RulesCoveragePoller> {
  const agent = options.agentName ?? `${os.hostname()}:${process.pid}`;
  const log = options.logger.child({ part: 'rules-coverage' });
  const metrics = createRulesCoverageMetrics(options.registry);
  const budgetMetrics = createBucketBudgetMetrics(options.registry);
  const warn = (name: string, what: string) => (error: unknown) =>
    log.warn({ target: name, err: options.scrubber.scrub((error as Error).message) }, what);

  /** Budgets in their own snapshot; stored with their trends when there is an ops database. */
  const readTargetBudgets = async (name: string, target: Parameters<typeof readBudgets>[0]) => {
    const report = await readBudgets(target);
    budgetMetrics.record(name, report);
    if (!options.ops) return;
    const at = new Date(report.snapshotTakenAt);
    const trends = await budgetTrends(options.ops.pool, name, report, at);
    await storeBudgetReading(
      options.ops.pool,
      { target: name, computedAt: at.toISOString(), report, trends },
      agent
    );
  };

  /** One reading of a target; returns the seconds until its next. */
  const readTarget = async (name: string): Promise<number> => {
    let seconds = RULES_INSIGHT_EVERY_SECONDS;
    try {
      const target = await resolveTarget(options.targets, name, options.scrubber);
      seconds = target.rulesInsight?.everySeconds ?? RULES_INSIGHT_EVERY_SECONDS;
      metrics.interval(name, seconds);
      const sampleSize = target.rulesInsight?.sampleSize;
      await readCoverage(target, sampleSize ? { sampleSize } : {})
        .then((report) => metrics.record(name, report, new Date()))
        .catch(warn(name, 'rules coverage not read'));
      await readTargetBudgets(name, target).catch(warn(name, 'bucket budgets not read'));
    } catch (error) {
      warn(name, 'rules insight not read')(error);
    }
    return seconds;
  };

  return pollEachTarget(await targetNames(options.targets), readTarget);
}
