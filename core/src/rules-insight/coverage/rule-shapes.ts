/**
 * The bucket definitions as shapes SQL can evaluate over a whole table: which columns a data query puts
 * into bucket parameters (`col = bucket.p`), its other conditions, and which rows of a parameter table
 * give which bucket parameters to whom. Only shapes whose meaning is certain are kept; everything else
 * is listed as not analysed, with the reason, rather than guessed at.
 */
import {
  SqlBucketDescriptor,
  type SqlDataQuery,
  type SqlParameterQuery
} from '@powersync/service-sync-rules';
import type { Expr } from 'pgsql-ast-parser';
import {
  bucketDefinitions,
  conjuncts,
  dataQueryPushdown,
  isRequestOnly,
  lineOfSql,
  parameterOutputColumns,
  parameterQueryLookupColumn,
  parseSelect,
  plainColumn,
  walk
} from '../../probe/expected/rule-analysis.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';

export interface TableName {
  schema: string;
  name: string;
}

/** A request value a rule compares with or outputs: the token's subject, a claim, or something else. */
export type RequestValue =
  | { kind: 'user_id' }
  | { kind: 'claim'; name: string }
  | { kind: 'other'; sql: string };

export interface Located {
  definition: string;
  sql: string;
  /** 1-based line in the rules file. */
  line: number;
}

/** A parameter query reading a table: its rows whose `lookup` a user's request matches give `outputs`. */
export interface TableParameterSource extends Located {
  kind: 'table';
  table: TableName;
  /** The row column compared with a request value; absent: every row is given to every user. */
  lookup?: { column: string; request: RequestValue };
  /** Bucket parameter → the column it is read from. */
  outputs: Map<string, string>;
  /** The rest of its WHERE (row columns and literals only). */
  conditions: Expr[];
}

/** A parameter query without a table: its bucket parameters are request values. */
export interface StaticParameterSource extends Located {
  kind: 'static';
  outputs: Map<string, RequestValue>;
}

export type ParameterSource = TableParameterSource | StaticParameterSource;

export interface DataQueryShape extends Located {
  table: TableName;
  /** `column = bucket.parameter` terms: the row's bucket. */
  bucketColumns: { column: string; parameter: string }[];
  /** The rest of its WHERE (row columns and literals only). */
  conditions: Expr[];
  selectStar: boolean;
  /** The output columns as written, when not `*` (for a `SELECT *` fix). */
  outputColumns: string[];
}

export interface DefinitionShape {
  name: string;
  line: number;
  /** No parameter query: one bucket every user holds. */
  global: boolean;
  /** Every parameter and data query was analysed (else its tables' coverage is not computed). */
  complete: boolean;
  /** The tables its data queries read, analysed or not (wildcards left out). */
  dataTables: TableName[];
  sources: ParameterSource[];
  dataQueries: DataQueryShape[];
}

export interface NotAnalysed extends Located {
  reason: string;
}

export interface RuleShapes {
  definitions: DefinitionShape[];
  notAnalysed: NotAnalysed[];
  /** Sync streams are not analysed by coverage (their subscriptions come from clients). */
  streams: string[];
}

class NotAnalysable extends Error {}

const CLAIM = /^request\.jwt\(\)\s*->>?\s*'([^']+)'$/i;

export function requestValueOf(sql: string): RequestValue {
  const text = sql.trim();
  if (/^request\.user_id\(\)$/i.test(text) || /^token_parameters\.user_id$/i.test(text))
    return { kind: 'user_id' };
  const claim = CLAIM.exec(text);
  return claim ? { kind: 'claim', name: claim[1]! } : { kind: 'other', sql: text };
}

/** Conditions that read only the row (columns, literals): anything else cannot be evaluated per row in SQL. */
function rowConditions(terms: Expr[], what: string): Expr[] {
  for (const term of terms) {
    walk(term, (n) => {
      if (n.type === 'select' || n.type === 'call' || n.type === 'member')
        throw new NotAnalysable(`${what} has a condition SyncScope cannot evaluate in SQL`);
      const table = (n.table as { name?: string } | undefined)?.name;
      if (n.type === 'ref' && table && ['bucket', 'token_parameters', 'user_parameters'].includes(table))
        throw new NotAnalysable(`${what} compares a request or bucket value other than with \`column = …\``);
    });
  }
  return terms;
}

function tableOf(q: { sourceTable: { schema: string; isWildcard: boolean; name: string } }): TableName {
  if (q.sourceTable.isWildcard) throw new NotAnalysable('it reads a wildcard table');
  return { schema: q.sourceTable.schema, name: q.sourceTable.name };
}

function dataShape(rules: LoadedSyncRules, definition: string, q: SqlDataQuery): DataQueryShape {
  const ast = parseSelect(q.sql);
  if (!ast) throw new NotAnalysable('it is not a single SELECT');
  const keys = q.filter.inputParameters.map((p) => p.key);
  const pushdown = keys.length === 0 ? [] : dataQueryPushdown(q);
  const covered = new Set(pushdown?.map((p) => `bucket.${p.parameter}`));
  if (!pushdown || keys.some((k) => !covered.has(k)))
    throw new NotAnalysable('a bucket parameter is not compared as `column = bucket.parameter`');
  const rowTables = new Set(
    [q.table.alias, q.table.nameInSchema, q.sourceTable.tablePattern].filter((n): n is string => Boolean(n))
  );
  const isPushdownTerm = (t: Expr) =>
    t.type === 'binary' &&
    t.op === '=' &&
    [t.left, t.right].some((side) => side.type === 'ref' && side.table?.name === 'bucket') &&
    [t.left, t.right].some((side) => plainColumn(side, rowTables) !== null);
  const columns = ast.columns ?? [];
  return {
    definition,
    sql: q.sql,
    line: lineOfSql(rules.yaml, definition, q.sql),
    table: tableOf(q),
    bucketColumns: pushdown,
    conditions: rowConditions(
      conjuncts(ast.where).filter((t) => !isPushdownTerm(t)),
      'the data query'
    ),
    selectStar: columns.some((c) => c.expr.type === 'ref' && c.expr.name === '*'),
    outputColumns: columns
      .filter((c) => !(c.expr.type === 'ref' && c.expr.name === '*'))
      .map((c) => c.alias?.name ?? (c.expr.type === 'ref' ? c.expr.name : '?'))
  };
}

function tableSource(rules: LoadedSyncRules, definition: string, q: SqlParameterQuery): TableParameterSource {
  const ast = parseSelect(q.sql);
  if (!ast) throw new NotAnalysable('it is not a single SELECT');
  const lookup = parameterQueryLookupColumn(q);
  if (q.inputParameters.length > 0 && (!lookup || lookup.expands))
    throw new NotAnalysable('its request values are not one `column = request value` comparison');
  const outputs = parameterOutputColumns(q);
  if (q.bucketParameters.some((p) => !outputs.has(p)))
    throw new NotAnalysable('a bucket parameter is an expression rather than a column');
  const rest = conjuncts(ast.where).filter((t) => !isRequestComparison(t));
  return {
    kind: 'table',
    definition,
    sql: q.sql,
    line: lineOfSql(rules.yaml, definition, q.sql),
    table: tableOf(q),
    ...(lookup ? { lookup: { column: lookup.column, request: requestValueOf(lookup.requestSql) } } : {}),
    outputs: new Map(q.bucketParameters.map((p) => [p, outputs.get(p)!])),
    conditions: rowConditions(rest, 'the parameter query')
  };
}

/** `column = request value` (either way round): the lookup, taken apart by parameterQueryLookupColumn. */
function isRequestComparison(term: Expr): boolean {
  return term.type === 'binary' && term.op === '=' && (isRequestOnly(term.left) || isRequestOnly(term.right));
}

function staticSource(
  rules: LoadedSyncRules,
  definition: string,
  q: { sql: string; bucketParameters: string[] }
): StaticParameterSource {
  const ast = parseSelect(q.sql);
  if (!ast || ast.where) throw new NotAnalysable('it has a condition on request values');
  const outputs = new Map<string, RequestValue>();
  for (const c of ast.columns ?? []) {
    const name = c.alias?.name;
    if (name) outputs.set(name, requestValueOf(q.sql.slice(c.expr._location?.start, c.expr._location?.end)));
  }
  return { kind: 'static', definition, sql: q.sql, line: lineOfSql(rules.yaml, definition, q.sql), outputs };
}

function attempt<T>(out: NotAnalysed[], where: Located, make: () => T): T | undefined {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof NotAnalysable)) throw error;
    out.push({ ...where, reason: error.message });
    return undefined;
  }
}

function definitionShape(
  rules: LoadedSyncRules,
  d: SqlBucketDescriptor,
  out: NotAnalysed[]
): DefinitionShape {
  const located = (sql: string): Located => ({
    definition: d.name,
    sql,
    line: lineOfSql(rules.yaml, d.name, sql)
  });
  const before = out.length;
  const sources: ParameterSource[] = [];
  for (const q of d.parameterQueries) {
    const s = attempt(out, located(q.sql), () => tableSource(rules, d.name, q));
    if (s) sources.push(s);
  }
  // Without parameters the library adds a query of its own (`SELECT`): one bucket every user holds.
  const global = d.parameterQueries.length === 0 && d.bucketParameters.length === 0;
  for (const q of global ? [] : d.globalParameterQueries) {
    const s = attempt(out, located(q.sql), () => {
      if (!('bucketParameters' in q)) throw new NotAnalysable('it is a table-valued function');
      return staticSource(rules, d.name, q);
    });
    if (s) sources.push(s);
  }
  const dataQueries: DataQueryShape[] = [];
  for (const q of d.dataQueries) {
    const s = attempt(out, located(q.sql), () => dataShape(rules, d.name, q));
    if (s) dataQueries.push(s);
  }
  return {
    name: d.name,
    line: lineOfSql(rules.yaml, d.name, ''),
    global,
    complete: out.length === before,
    dataTables: d.dataQueries
      .filter((q) => !q.sourceTable.isWildcard)
      .map((q) => ({ schema: q.sourceTable.schema, name: q.sourceTable.name })),
    sources,
    dataQueries
  };
}

export function ruleShapes(rules: LoadedSyncRules): RuleShapes {
  const notAnalysed: NotAnalysed[] = [];
  const definitions = bucketDefinitions(rules).map((d) => definitionShape(rules, d, notAnalysed));
  const streams = rules.config.bucketSources
    .filter((s) => !(s instanceof SqlBucketDescriptor))
    .map((s) => s.name);
  return { definitions, notAnalysed, streams };
}

/** Every table the analysed shapes read, once. */
export function shapeTables(shapes: RuleShapes): TableName[] {
  const seen = new Map<string, TableName>();
  for (const d of shapes.definitions) {
    for (const t of [
      ...d.dataQueries.map((q) => q.table),
      ...d.sources.flatMap((s) => (s.kind === 'table' ? [s.table] : []))
    ])
      seen.set(`${t.schema}.${t.name}`, t);
  }
  return [...seen.values()];
}
