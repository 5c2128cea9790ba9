/**
 * The draft's text checks, before anything reads the source: the YAML, then the rules library
 * (@powersync/service-sync-rules, as the service parses rules), each problem at its line.
 */
import { SqlSyncRules } from '@powersync/service-sync-rules';
import YAML from 'yaml';
import {
  DEFAULT_SOURCE_SCHEMA,
  type LoadedSyncRules,
  loadSyncRules,
  positionOf
} from '../../sync-rules/load-sync-rules.ts';
import type { DraftProblem } from './dry-run-report.ts';

export interface ParsedDraft {
  problems: DraftProblem[];
  /** The loaded rules, when nothing is fatal. */
  rules?: LoadedSyncRules;
}

/** YAML errors with their line and column; the message without the excerpt the parser appends. */
function yamlProblems(yaml: string): DraftProblem[] {
  const doc = YAML.parseDocument(yaml, { prettyErrors: true });
  return [...doc.errors, ...doc.warnings].map((e) => ({
    source: 'yaml' as const,
    severity: doc.errors.includes(e as YAML.YAMLError) ? ('error' as const) : ('warning' as const),
    line: e.linePos?.[0]?.line ?? 0,
    ...(e.linePos?.[0]?.col ? { column: e.linePos[0].col } : {}),
    message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
    fix: 'fix the YAML: indentation, a `-` list item, or a `key: value` pair'
  }));
}

function rulesProblems(yaml: string): DraftProblem[] {
  let parsed: ReturnType<typeof SqlSyncRules.fromYaml>;
  try {
    parsed = SqlSyncRules.fromYaml(yaml, { defaultSchema: DEFAULT_SOURCE_SCHEMA, throwOnError: false });
  } catch (error) {
    return [{ source: 'rules', severity: 'error', line: 0, message: (error as Error).message }];
  }
  return parsed.errors.map((e) => {
    const { line, column } = positionOf(yaml, e.location?.start ?? 0);
    return {
      source: 'rules' as const,
      severity: e.type === 'fatal' ? ('error' as const) : ('warning' as const),
      line: e.location ? line : 0,
      ...(e.location ? { column } : {}),
      message: compactMessage(e.message)
    };
  });
}

/**
 * A parser's message without its excerpt and token list: `Syntax error at line 1 col 27: Unexpected
 * op_eq token: "=".` (the editor shows the line itself).
 */
export function compactMessage(message: string): string {
  const lines = message.split('\n');
  const unexpected = lines.find((l) => l.startsWith('Unexpected'));
  const first = lines[0]!.trim();
  return unexpected ? `${first} ${unexpected.replace(/ Instead, .*$/, '')}` : first;
}

/** The YAML's problems; when it parses, the rules library's, and the loaded rules when none is fatal. */
export function parseDraft(yaml: string): ParsedDraft {
  const yamlIssues = yamlProblems(yaml);
  if (yamlIssues.some((p) => p.severity === 'error')) return { problems: yamlIssues };
  const problems = [...yamlIssues, ...rulesProblems(yaml)];
  if (problems.some((p) => p.severity === 'error')) return { problems };
  try {
    return { problems, rules: loadSyncRules(yaml, { file: 'draft' }) };
  } catch (error) {
    return {
      problems: [
        ...problems,
        { source: 'rules', severity: 'error', line: 0, message: (error as Error).message }
      ]
    };
  }
}
