import 'server-only';
import { isSyncScopeError } from '@syncscope/core';
import { loadSyncRules, type SyncRulesProblem } from '@syncscope/core/sync-rules/load-sync-rules';
import YAML from 'yaml';
import { loadTarget } from '@/server/targets';

export interface BucketDefinitionView {
  name: string;
  parameterQueries: string[];
  dataQueries: string[];
}

export interface RulesOverview {
  yaml: string;
  source: string;
  problems: SyncRulesProblem[];
  definitions: BucketDefinitionView[];
}

const asList = (value: unknown): string[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)];

/** The target's current rules (file or admin API), the rules library's problems, and each definition's queries. */
export async function rulesOverview(targetName: string): Promise<RulesOverview> {
  const target = await loadTarget(targetName);
  const yaml = target.syncRulesYaml;
  let problems: SyncRulesProblem[] = [];
  try {
    problems = loadSyncRules(yaml, { file: target.syncRulesFile }).warnings;
  } catch (error) {
    if (!isSyncScopeError(error)) throw error;
    const listed = (error.details as { problems?: SyncRulesProblem[] } | undefined)?.problems;
    problems = listed ?? [{ line: 0, column: 0, message: error.message, severity: 'fatal', excerpt: '' }];
  }
  let definitions: BucketDefinitionView[] = [];
  try {
    const doc = YAML.parse(yaml) as {
      bucket_definitions?: Record<string, { parameters?: unknown; data?: unknown }>;
    };
    definitions = Object.entries(doc?.bucket_definitions ?? {}).map(([name, def]) => ({
      name,
      parameterQueries: asList(def?.parameters),
      dataQueries: asList(def?.data)
    }));
  } catch {
    // A YAML syntax error is already among the problems.
  }
  return {
    yaml,
    source: target.syncRulesFile ?? `${target.adminUrl ?? ''} (admin API)`,
    problems,
    definitions
  };
}
