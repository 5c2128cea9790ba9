/**
 * Lint: findings about the rules against the source, each at its rules-file line with the fix. Tables
 * the service cannot replicate, filters that never match, filter columns no index leads with, `SELECT *`
 * over wide columns, and the bucket count of the user with the most buckets against the service's limit.
 */
import pg from 'pg';
import { DEFAULT_BUCKET_LIMIT } from '../budgets/budget-sources.ts';
import { planCoverage } from '../coverage/compute-coverage.ts';
import type { SourceAnalysis } from '../coverage/source-analysis.ts';
import { type CatalogTable, tableKey } from '../coverage/source-catalog.ts';
import {
  type InsightSettings,
  type InsightTarget,
  withRulesAnalysis
} from '../coverage/with-rules-analysis.ts';
import { bucketLimitFinding } from './bucket-limit.ts';
import { wideSelectStar } from './wide-columns.ts';

export type LintSeverity = 'error' | 'warning' | 'info';

export type LintRule =
  | 'missing-table'
  | 'table-not-published'
  | 'no-replica-identity'
  | 'no-id'
  | 'type-mismatch'
  | 'unindexed-filter'
  | 'wide-select-star'
  | 'bucket-limit'
  | 'not-analysed';

export interface LintFinding {
  rule: LintRule;
  severity: LintSeverity;
  /** 1-based line in the rules file (0: the rules as a whole). */
  line: number;
  message: string;
  fix: string;
}

const TABLE_RULES = {
  missing: 'missing-table',
  'not-published': 'table-not-published',
  'no-replica-identity': 'no-replica-identity',
  'no-id': 'no-id'
} as const;

function indexFix(table: CatalogTable, column: string): string {
  const name = pg.escapeIdentifier(`${table.name}_${column}_idx`.slice(0, 63));
  return `CREATE INDEX CONCURRENTLY ${name} ON ${table.sqlName} (${pg.escapeIdentifier(column)});`;
}

function unindexedFilters(a: SourceAnalysis): LintFinding[] {
  const seen = new Set<string>();
  const out: LintFinding[] = [];
  const check = (table: CatalogTable | undefined, column: string, line: number, compared: string) => {
    const key = `${table && tableKey(table)}.${column}`;
    if (!table?.columns.has(column) || table.indexedLeadColumns.has(column) || seen.has(key)) return;
    seen.add(key);
    out.push({
      rule: 'unindexed-filter',
      severity: 'warning',
      line,
      message: `${tableKey(table)}.${column} is compared with ${compared}, but no index leads with it: reading a bucket's rows (SyncScope's probe and explain, your backend's permission checks) scans all of ${tableKey(table)} (about ${table.estimatedRows.toLocaleString('en-US')} rows).`,
      fix: indexFix(table, column)
    });
  };
  for (const d of a.shapes.definitions) {
    for (const s of d.sources)
      if (s.kind === 'table' && s.lookup)
        check(a.catalog.get(tableKey(s.table)), s.lookup.column, s.line, 'a request value');
    for (const q of d.dataQueries)
      for (const b of q.bucketColumns)
        check(a.catalog.get(tableKey(q.table)), b.column, q.line, `bucket.${b.parameter}`);
  }
  return out;
}

/** Lint findings, errors first, then by line. */
export async function lintRules(
  client: Pick<pg.Client, 'query'>,
  a: SourceAnalysis,
  options: { bucketLimit?: number } = {}
): Promise<LintFinding[]> {
  planCoverage(a); // collects the type mismatches its SQL would contain
  const findings: LintFinding[] = [
    ...a.tableProblems.map((p) => ({
      rule: TABLE_RULES[p.kind],
      severity: 'error' as const,
      line: p.line,
      message: p.message,
      fix: p.fix
    })),
    ...a.held.mismatches.map((m) => ({
      rule: 'type-mismatch' as const,
      severity: 'error' as const,
      line: m.line,
      message: m.message,
      fix: m.fix
    })),
    ...unindexedFilters(a),
    ...a.shapes.notAnalysed.map((n) => ({
      rule: 'not-analysed' as const,
      severity: 'info' as const,
      line: n.line,
      message: `Not checked: ${n.definition}'s query ${n.reason}.`,
      fix: 'none needed; SyncScope checks `column = bucket.parameter` and `column = request value` filters'
    }))
  ];
  for (const q of a.shapes.definitions.flatMap((d) => d.dataQueries)) {
    const wide = await wideSelectStar(client, a, q);
    if (wide) findings.push(wide);
  }
  const limit = await bucketLimitFinding(client, a, options.bucketLimit ?? DEFAULT_BUCKET_LIMIT);
  if (limit) findings.push(limit);
  const rank = { error: 0, warning: 1, info: 2 };
  return findings.sort((x, y) => rank[x.severity] - rank[y.severity] || x.line - y.line);
}

/** The target's lint findings, read in one snapshot. */
export function readLintFindings(
  target: InsightTarget,
  settings: InsightSettings & { bucketLimit?: number } = {}
): Promise<LintFinding[]> {
  return withRulesAnalysis(target, settings, (session, analysis) =>
    lintRules(session.client, analysis, settings.bucketLimit ? { bucketLimit: settings.bucketLimit } : {})
  );
}
