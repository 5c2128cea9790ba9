import './object-group-by-polyfill.ts';
import {
  type HydratedSyncConfig,
  SqlSyncRules,
  type SyncConfig,
  versionedHydrationState,
  type YamlError
} from '@powersync/service-sync-rules';
import { SyncScopeError } from '../errors/index.ts';

/** The sync-rules version the dev server deploys; it prefixes bucket ids: `1#by_workspace["ws-1"]`. */
export const SYNC_RULES_VERSION = 1;
export const DEFAULT_SOURCE_SCHEMA = 'public';

export interface SyncRulesProblem {
  line: number;
  column: number;
  message: string;
  severity: 'warning' | 'fatal';
  /** The YAML line the problem points at, for a readable report. */
  excerpt: string;
}

export interface LoadedSyncRules {
  yaml: string;
  /** The deployed version the bucket ids carry (`2#by_workspace[…]` after a redeploy). */
  version: number;
  config: SyncConfig;
  hydrated: HydratedSyncConfig;
  warnings: SyncRulesProblem[];
}

export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function toProblem(yaml: string, error: YamlError): SyncRulesProblem {
  const { line, column } = positionOf(yaml, error.location?.start ?? 0);
  return {
    line,
    column,
    message: error.message,
    severity: error.type,
    excerpt: yaml.split('\n')[line - 1]?.trim() ?? ''
  };
}

export function formatProblem(problem: SyncRulesProblem, file = 'sync_rules.yaml'): string {
  return `${file}:${problem.line}:${problem.column}: ${problem.message}${problem.excerpt ? `\n    ${problem.excerpt}` : ''}`;
}

/**
 * Parses and hydrates sync rules the way the service deploys them. Fatal problems throw one
 * SyncScopeError listing each with its line; warnings are returned.
 */
export function loadSyncRules(
  yaml: string,
  options: { file?: string; version?: number } = {}
): LoadedSyncRules {
  let parsed: ReturnType<typeof SqlSyncRules.fromYaml>;
  try {
    parsed = SqlSyncRules.fromYaml(yaml, { defaultSchema: DEFAULT_SOURCE_SCHEMA, throwOnError: false });
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_SYNC_RULES_INVALID',
      `${options.file ?? 'sync_rules.yaml'}: ${(error as Error).message}`
    );
  }
  const problems = parsed.errors.map((e) => toProblem(yaml, e));
  const fatal = problems.filter((p) => p.severity === 'fatal');
  if (fatal.length > 0) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_SYNC_RULES_INVALID',
      `The sync rules are invalid:\n${fatal.map((p) => formatProblem(p, options.file)).join('\n')}`,
      { problems: fatal }
    );
  }
  const version = options.version ?? SYNC_RULES_VERSION;
  const hydrated = parsed.config.hydrate({ hydrationState: versionedHydrationState(version), sqlite: null });
  return {
    yaml,
    version,
    config: parsed.config,
    hydrated,
    warnings: problems.filter((p) => p.severity === 'warning')
  };
}

/** Where a table is named in the rules (`FROM table`), so an unknown-table error can point at the rule. */
export function findTableReferences(yaml: string, table: string): SyncRulesProblem[] {
  const escaped = table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`\\b(?:from|join)\\s+(?:"?\\w+"?\\.)?"?${escaped}"?(?![\\w"])`, 'gi');
  const problems: SyncRulesProblem[] = [];
  for (const match of yaml.matchAll(pattern)) {
    const { line, column } = positionOf(yaml, match.index ?? 0);
    problems.push({
      line,
      column,
      message: `table "${table}" does not exist in the source database`,
      severity: 'fatal',
      excerpt: yaml.split('\n')[line - 1]?.trim() ?? ''
    });
  }
  return problems;
}
