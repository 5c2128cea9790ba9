import { withSourceSession } from '../../probe/expected/source-session.ts';
import type { UserSearchAccess } from '../../source-access/source-access.ts';
import { loadSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { type CoverageReport, computeCoverage } from './compute-coverage.ts';
import { analyseSource, type SourceAnalysis } from './source-analysis.ts';

/** What coverage and lint need of a target (a resolved ProbeTarget has all of it). */
export interface InsightTarget {
  sourceUrl: string;
  syncRulesYaml: string;
  syncRulesFile?: string;
  userSearch?: UserSearchAccess;
  extraClaims?: Record<string, unknown>;
}

/** `rules_insight.every_seconds` by default: each reading scans the rules' tables, so not often. */
export const RULES_INSIGHT_EVERY_SECONDS = 300;

export interface InsightSettings {
  statementTimeoutMs?: number;
  sampleSize?: number;
}

/**
 * Loads the rules, opens one REPEATABLE READ READ ONLY session with a statement timeout on the source
 * (as the target's least-privilege role) and hands the analysis to `fn`; always closes it.
 */
export function withRulesAnalysis<T>(
  target: InsightTarget,
  settings: InsightSettings,
  fn: (
    session: Parameters<Parameters<typeof withSourceSession>[2]>[0],
    analysis: SourceAnalysis
  ) => Promise<T>
): Promise<T> {
  const rules = loadSyncRules(target.syncRulesYaml, {
    ...(target.syncRulesFile ? { file: target.syncRulesFile } : {})
  });
  return withSourceSession(
    target.sourceUrl,
    { ...(settings.statementTimeoutMs ? { statementTimeoutMs: settings.statementTimeoutMs } : {}) },
    async (session) => {
      const analysis = await analyseSource(session.client, rules, {
        ...(target.userSearch ? { userSearch: target.userSearch } : {}),
        ...(target.extraClaims ? { claims: target.extraClaims } : {})
      });
      return fn(session, analysis);
    }
  );
}

/** The target's coverage report, computed in one snapshot. */
export function readCoverage(target: InsightTarget, settings: InsightSettings = {}): Promise<CoverageReport> {
  return withRulesAnalysis(target, settings, (session, analysis) =>
    computeCoverage(session.client, analysis, {
      snapshotTakenAt: session.snapshotTakenAt,
      ...(settings.sampleSize ? { sampleSize: settings.sampleSize } : {})
    })
  );
}
