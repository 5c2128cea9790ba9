import type { Logger } from '@syncscope/core';
import {
  RULES_INSIGHT_EVERY_SECONDS,
  readCoverage
} from '@syncscope/core/rules-insight/coverage/with-rules-analysis';
import type { Registry } from 'prom-client';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';
import { pollEachTarget } from '../worker/poll-each-target.ts';
import { createRulesCoverageMetrics } from './rules-coverage-metrics.ts';

export interface RulesCoveragePoller {
  /** Reads every target once now (what each timer does), and resolves when all are recorded. */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Computes every target's coverage each `rules_insight.every_seconds` (default 300: each reading scans
 * the rules' tables) and exports rows in no bucket per table. The target is resolved again for every
 * reading, so edits apply without a restart; a failed reading is logged and leaves the last values,
 * whose age the last-success gauge shows.
 */
export async function startRulesCoveragePoller(options: {
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  registry: Registry;
}): Promise<RulesCoveragePoller> {
  const log = options.logger.child({ part: 'rules-coverage' });
  const metrics = createRulesCoverageMetrics(options.registry);

  /** One reading of a target; returns the seconds until its next. */
  const readTarget = async (name: string): Promise<number> => {
    let seconds = RULES_INSIGHT_EVERY_SECONDS;
    try {
      const target = await resolveTarget(options.targets, name, options.scrubber);
      seconds = target.rulesInsight?.everySeconds ?? RULES_INSIGHT_EVERY_SECONDS;
      metrics.interval(name, seconds);
      const sampleSize = target.rulesInsight?.sampleSize;
      metrics.record(name, await readCoverage(target, sampleSize ? { sampleSize } : {}), new Date());
    } catch (error) {
      log.warn(
        { target: name, err: options.scrubber.scrub((error as Error).message) },
        'rules coverage not read'
      );
    }
    return seconds;
  };

  return pollEachTarget(await targetNames(options.targets), readTarget);
}
