/**
 * Structure the compiled sync rules do not keep: which source column a query compares with a bucket or
 * request value, which request values a query reads, and where each query is in the YAML. Read from the
 * same parser the sync-rules package uses (pgsql-ast-parser), and only ever used to narrow what is read
 * or to word an explanation: every row is still evaluated by the sync-rules package itself.
 */
import { JSONBig } from '@powersync/service-jsonbig';
import {
  type BucketDataSource,
  type BucketSource,
  type HydrationState,
  SqlBucketDescriptor,
  type SqlDataQuery,
  type SqliteJsonValue,
  type SqlParameterQuery,
  versionedHydrationState
} from '@powersync/service-sync-rules';
import { type Expr, parse, type SelectFromStatement, toSql } from 'pgsql-ast-parser';
import { type LoadedSyncRules, positionOf, SYNC_RULES_VERSION } from '../../sync-rules/load-sync-rules.ts';

export type AstNode = Record<string, unknown> & { type?: string };

const astCache = new Map<string, SelectFromStatement | null>();

/** A rule's single SELECT, parsed (cached); null when it is not one. */
export function parseSelect(sql: string): SelectFromStatement | null {
  if (astCache.has(sql)) return astCache.get(sql)!;
  let ast: SelectFromStatement | null = null;
  try {
    const parsed = parse(sql, { locationTracking: true });
    const q = parsed[0];
    if (parsed.length === 1 && q?.type === 'select') ast = q;
  } catch {
    ast = null;
  }
  if (astCache.size > 1000) astCache.clear();
  astCache.set(sql, ast);
  return ast;
}

/** Visits every node of a parsed query, depth first. */
export function walk(node: unknown, visit: (n: AstNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (node && typeof node === 'object') {
    visit(node as AstNode);
    for (const [key, value] of Object.entries(node)) if (key !== '_location') walk(value, visit);
  }
}

/** An expression as written in the rule (falls back to the parser's rendering). */
export function textOf(sql: string, expr: Expr): string {
  const location = (expr as { _location?: { start: number; end: number } })._location;
  return location ? sql.slice(location.start, location.end) : toSql.expr(expr);
}

/** The top-level `AND` terms of a WHERE clause (an `OR` stays one term). */
export function conjuncts(where: Expr | null | undefined): Expr[] {
  if (!where) return [];
  if (where.type === 'binary' && where.op === 'AND')
    return [...conjuncts(where.left), ...conjuncts(where.right)];
  return [where];
}

/** A bare column of the queried table (`col`, `t.col`), not an expression. */
export function plainColumn(expr: Expr, rowTables: Set<string>): string | null {
  if (expr.type !== 'ref' || expr.name === '*') return null;
  if (expr.table && (expr.table.schema || !rowTables.has(expr.table.name))) return null;
  return expr.name;
}

const REQUEST_TABLES = new Set(['token_parameters', 'user_parameters']);

/** True when the expression reads only request values (token, client parameters), no row column. */
export function isRequestOnly(expr: Expr): boolean {
  let readsRow = false;
  let readsRequest = false;
  walk(expr, (n) => {
    if (n.type === 'ref') {
      const table = (n.table as { name?: string } | undefined)?.name;
      if (table && REQUEST_TABLES.has(table)) readsRequest = true;
      else readsRow = true;
    } else if (n.type === 'call' && (n.function as { schema?: string } | undefined)?.schema === 'request') {
      readsRequest = true;
    } else if (n.type === 'select' || n.type === 'union' || n.type === 'with') {
      readsRow = true;
    }
  });
  return readsRequest && !readsRow;
}

function dataRowTables(q: SqlDataQuery): Set<string> {
  return new Set(
    [q.table.alias, q.table.nameInSchema, q.sourceTable.tablePattern].filter((n): n is string => Boolean(n))
  );
}

function parameterRowTables(q: SqlParameterQuery): Set<string> {
  return new Set(
    [q.table.nameInSchema, q.table.alias, q.sourceTable.tablePattern].filter(Boolean) as string[]
  );
}

/** `col = bucket.param` in a data query: the column holds the bucket parameter's value. */
export interface ColumnParameter {
  column: string;
  parameter: string;
}

const dataPushdownCache = new WeakMap<SqlDataQuery, ColumnParameter[] | null>();

/**
 * The `column = bucket.param` terms of a data query's top-level AND. A row can only be in a bucket whose
 * `param` equals the row's `column`, so reading `WHERE column IN (the user's values)` loses no row the
 * query would put in one of the user's buckets. Null when the WHERE has no such term (e.g. an OR, or an
 * expression around the column).
 */
export function dataQueryPushdown(q: SqlDataQuery): ColumnParameter[] | null {
  if (dataPushdownCache.has(q)) return dataPushdownCache.get(q)!;
  const ast = parseSelect(q.sql);
  const keys = new Set(q.filter.inputParameters.map((p) => p.key));
  const rowTables = dataRowTables(q);
  const out: ColumnParameter[] = [];
  for (const term of conjuncts(ast?.where)) {
    if (term.type !== 'binary' || term.op !== '=') continue;
    for (const [a, b] of [
      [term.left, term.right],
      [term.right, term.left]
    ] as const) {
      const column = plainColumn(a, rowTables);
      if (column && b.type === 'ref' && b.table?.name === 'bucket' && !b.table.schema) {
        if (keys.has(`bucket.${b.name}`)) out.push({ column, parameter: b.name });
      }
    }
  }
  const result = !q.filter.error && out.length > 0 ? out : null;
  dataPushdownCache.set(q, result);
  return result;
}

/** `col = <request value>` (or `col IN <request array>`) in a parameter query. */
export interface LookupColumn {
  column: string;
  /** The request side as SQL, e.g. `request.user_id()`. */
  requestSql: string;
  expands: boolean;
}

const lookupCache = new WeakMap<SqlParameterQuery, LookupColumn | null>();

/**
 * The one column a parameter query compares with its one request value. The lookup values the querier
 * asks for are then exactly the values that column must have. Null when unsure.
 */
export function parameterQueryLookupColumn(q: SqlParameterQuery): LookupColumn | null {
  if (lookupCache.has(q)) return lookupCache.get(q)!;
  let result: LookupColumn | null = null;
  const ast = parseSelect(q.sql);
  if (ast && q.inputParameters.length === 1 && !q.filter.error) {
    const rowTables = parameterRowTables(q);
    const found: LookupColumn[] = [];
    for (const term of conjuncts(ast.where)) {
      if (term.type !== 'binary') continue;
      if (term.op === '=') {
        for (const [a, b] of [
          [term.left, term.right],
          [term.right, term.left]
        ] as const) {
          const column = plainColumn(a, rowTables);
          if (column && isRequestOnly(b))
            found.push({ column, requestSql: textOf(q.sql, b), expands: false });
        }
      } else if (term.op === 'IN') {
        const column = plainColumn(term.left, rowTables);
        if (column && isRequestOnly(term.right))
          found.push({ column, requestSql: textOf(q.sql, term.right), expands: true });
      }
    }
    const expands = q.inputParameters[0]!.expands;
    if (found.length === 1 && found[0]!.expands === expands) result = found[0]!;
  }
  lookupCache.set(q, result);
  return result;
}

/** Output bucket parameters of a parameter query that are a bare column of its table: param → column. */
export function parameterOutputColumns(q: SqlParameterQuery): Map<string, string> {
  const out = new Map<string, string>();
  const ast = parseSelect(q.sql);
  const rowTables = parameterRowTables(q);
  for (const c of ast?.columns ?? []) {
    const column = plainColumn(c.expr, rowTables);
    if (column) out.set(c.alias?.name ?? column, column);
  }
  return out;
}

/** Columns of the queried table that a query's WHERE reads. */
export function whereColumns(sql: string, rowTables: Iterable<string>): string[] {
  const ast = parseSelect(sql);
  const names = new Set(rowTables);
  const out = new Set<string>();
  walk(ast?.where, (n) => {
    if (n.type !== 'ref') return;
    const column = plainColumn(n as unknown as Expr, names);
    if (column) out.add(column);
  });
  return [...out];
}

export function dataQueryRowTables(q: SqlDataQuery): string[] {
  return [...dataRowTables(q)];
}

/** The WHERE clause as SQL text, for explanations. */
export function whereSql(sql: string): string | null {
  const where = parseSelect(sql)?.where;
  return where ? textOf(sql, where) : null;
}

/** A request value a query reads. */
export interface RequestReference {
  /** jwt: a token claim; token_parameters: the legacy `parameters` claim; client: client parameters. */
  source: 'user_id' | 'jwt' | 'token_parameters' | 'client';
  /** Claim or parameter name; undefined for the whole token or parameter set. */
  name?: string;
  /** As written in the rule, e.g. `request.jwt() ->> 'org'`. */
  sql: string;
}

function requestCall(n: AstNode | undefined, name: string): boolean {
  const fn = n?.type === 'call' ? (n.function as { schema?: string; name?: string }) : undefined;
  return fn?.schema === 'request' && fn.name === name;
}

/** Every request value (token claim, client parameter, user id) a query reads. */
export function requestReferences(sql: string): RequestReference[] {
  const ast = parseSelect(sql);
  const out: RequestReference[] = [];
  const claimed = new Set<unknown>();
  walk(ast, (n) => {
    if (n.type === 'member' && typeof n.member === 'string') {
      const operand = n.operand as AstNode;
      const text = textOf(sql, n as unknown as Expr);
      if (requestCall(operand, 'jwt')) {
        out.push({ source: 'jwt', name: n.member, sql: text });
        claimed.add(operand);
      } else if (requestCall(operand, 'parameters')) {
        out.push({ source: 'client', name: n.member, sql: text });
        claimed.add(operand);
      }
    } else if (n.type === 'call' && !claimed.has(n)) {
      if (requestCall(n, 'user_id')) out.push({ source: 'user_id', sql: 'request.user_id()' });
      else if (requestCall(n, 'jwt')) out.push({ source: 'jwt', sql: 'request.jwt()' });
      else if (requestCall(n, 'parameters')) out.push({ source: 'client', sql: 'request.parameters()' });
    } else if (n.type === 'ref') {
      const table = (n.table as { name?: string } | undefined)?.name;
      const name = n.name as string;
      if (table === 'token_parameters') {
        out.push(
          name === 'user_id'
            ? { source: 'user_id', sql: 'token_parameters.user_id' }
            : { source: 'token_parameters', name, sql: `token_parameters.${name}` }
        );
      } else if (table === 'user_parameters') {
        out.push({ source: 'client', name, sql: `user_parameters.${name}` });
      }
    }
  });
  // A claim read as `request.jwt() ->> 'x'` visits the bare call too: keep the claim only.
  return out.filter((r, i) => out.findIndex((o) => o.sql === r.sql) === i);
}

/** Request values a query reads that the token or client parameters do not have. */
export function missingRequestValues(
  sql: string,
  claims: Record<string, unknown>,
  clientParameters: Record<string, unknown>
): RequestReference[] {
  return requestReferences(sql).filter((r) => {
    if (!r.name) return false;
    if (r.source === 'jwt') return claims[r.name] === undefined || claims[r.name] === null;
    if (r.source === 'token_parameters') {
      const p = claims.parameters as Record<string, unknown> | undefined;
      return p?.[r.name] === undefined || p?.[r.name] === null;
    }
    if (r.source === 'client')
      return clientParameters[r.name] === undefined || clientParameters[r.name] === null;
    return false;
  });
}

/** 1-based line of a query in sync_rules.yaml, searched from its definition; 0 when not found. */
export function lineOfSql(yaml: string, definition: string, sql: string): number {
  const section = /^(bucket_definitions|streams)\s*:/m.exec(yaml)?.index ?? 0;
  const escaped = definition.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const header = new RegExp(`^[ \\t]+["']?${escaped}["']?[ \\t]*:`, 'm');
  const rest = yaml.slice(section);
  const headerMatch = header.exec(rest);
  const from = section + (headerMatch?.index ?? 0);
  let index = yaml.indexOf(sql, from);
  if (index < 0) {
    // Folded or block scalars: match the query's words across line breaks.
    const words = sql.trim().split(/\s+/).filter(Boolean);
    const escapedWords = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    for (const n of [escapedWords.length, Math.min(6, escapedWords.length)]) {
      if (n === 0) break;
      const m = new RegExp(escapedWords.slice(0, n).join('\\s+'), 'g');
      m.lastIndex = from;
      const hit = m.exec(yaml);
      if (hit) {
        index = hit.index;
        break;
      }
    }
  }
  if (index >= 0) return positionOf(yaml, index).line;
  return headerMatch ? positionOf(yaml, from + headerMatch[0].search(/\S/)).line : 0;
}

/** The bucket definitions (legacy `bucket_definitions`) of the rules. */
export function bucketDefinitions(rules: LoadedSyncRules): SqlBucketDescriptor[] {
  return rules.config.bucketSources.filter((s): s is SqlBucketDescriptor => s instanceof SqlBucketDescriptor);
}

const descriptorCache = new WeakMap<LoadedSyncRules, Map<BucketDataSource, SqlBucketDescriptor>>();

/** The bucket definition a data source belongs to (undefined for sync streams). */
export function definitionOfSource(
  rules: LoadedSyncRules,
  source: BucketDataSource
): SqlBucketDescriptor | undefined {
  let map = descriptorCache.get(rules);
  if (!map) {
    map = new Map();
    for (const d of bucketDefinitions(rules)) for (const s of d.dataSources) map.set(s, d);
    descriptorCache.set(rules, map);
  }
  return map.get(source);
}

/** The hydration state the rules were loaded with (bucket ids carry its version prefix). */
export function hydrationStateOf(rules: LoadedSyncRules): HydrationState {
  const hidden = (rules.hydrated as unknown as { hydrationInput?: { hydrationState?: HydrationState } })
    .hydrationInput?.hydrationState;
  return hidden ?? versionedHydrationState(SYNC_RULES_VERSION);
}

export function bucketPrefixOf(rules: LoadedSyncRules, source: BucketDataSource): string {
  return hydrationStateOf(rules).getBucketSourceScope(source).bucketPrefix;
}

/** The bucket definition or sync stream a bucket id belongs to (its data source's prefix), if any. */
export function definitionOfBucket(rules: LoadedSyncRules, bucket: string): BucketSource | undefined {
  return rules.hydrated.bucketSourceDefinitions.find((d) =>
    d.dataSources.some((s) => bucket.startsWith(`${bucketPrefixOf(rules, s)}[`))
  );
}

/** The named parameter values a bucket id carries: `1#by_workspace["ws-1"]` → `{workspace_id: 'ws-1'}`. */
export function bucketParametersOf(
  bucket: string,
  source: BucketDataSource
): Record<string, SqliteJsonValue> {
  const at = bucket.indexOf(`${source.uniqueName}[`);
  const json = at >= 0 ? bucket.slice(at + source.uniqueName.length) : bucket.slice(bucket.indexOf('['));
  let values: unknown;
  try {
    values = JSONBig.parse(json);
  } catch {
    return {};
  }
  if (!Array.isArray(values)) return {};
  const names = source.bucketParameters;
  const out: Record<string, SqliteJsonValue> = {};
  values.forEach((v, i) => {
    out[names[i] ?? String(i)] = v as SqliteJsonValue;
  });
  return out;
}

/** A value as SQL would print it: `'ws-1'`, `42`, `NULL`. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  return JSONBig.stringify(value);
}

/** The SQLite type of a sync-rules value, for type-mismatch explanations. */
export function valueType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'real';
  return typeof value;
}

/** Values that differ only by type (text '42' vs integer 42) have the same loose key. */
export function looseKey(value: unknown): string {
  return value === null || value === undefined ? '\u0000null' : String(value);
}

/** Each output column of a query's SELECT as SQL: `user_id` → `request.user_id()`. */
export function selectOutputExpressions(sql: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of parseSelect(sql)?.columns ?? []) {
    const text = textOf(sql, c.expr);
    const name = c.alias?.name ?? (c.expr.type === 'ref' ? c.expr.name : text);
    out.set(name, text);
  }
  return out;
}

/** True when a query has a WHERE clause. */
export function hasWhere(sql: string): boolean {
  return Boolean(parseSelect(sql)?.where);
}

/** Request-value keys the sync-rules package gives the user id. */
export const USER_ID_KEYS = new Set(['request.user_id()', 'token_parameters.user_id']);
