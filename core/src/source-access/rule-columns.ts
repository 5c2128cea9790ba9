/**
 * Which source tables and columns the sync rules read, from the rules' SQL as the rules library parses
 * it (pgsql-ast-parser): data queries (output and filter columns), parameter queries, and sync streams
 * with their subqueries and `with:` common table expressions. `SELECT *` reads every column.
 */
import YAML from 'yaml';
import { type AstNode, parseSelect } from '../probe/expected/rule-analysis.ts';
import { DEFAULT_SOURCE_SCHEMA } from '../sync-rules/load-sync-rules.ts';

/** Columns read per `schema.table` (the table as written, a wildcard keeps its `%`); `all` for `*`. */
export type ColumnsRead = Map<string, Set<string> | 'all'>;

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  return [];
}

/** Every SQL text in the rules: bucket definitions' parameters and data, streams' query/queries/with, event payloads. */
export function rulesSql(yaml: string): { sql: string[]; cteNames: Set<string> } {
  const doc = (YAML.parse(yaml) ?? {}) as Record<string, unknown>;
  const sql: string[] = [];
  const cteNames = new Set<string>();
  const sections = [doc.bucket_definitions, doc.streams, doc.event_definitions].filter(
    (s) => s && typeof s === 'object'
  );
  for (const section of sections) {
    for (const entry of Object.values(section as Record<string, unknown>)) {
      if (!entry || typeof entry !== 'object') continue;
      const e = entry as Record<string, unknown>;
      sql.push(
        ...strings(e.parameters),
        ...strings(e.data),
        ...strings(e.query),
        ...strings(e.queries),
        ...strings(e.payloads)
      );
      if (e.with && typeof e.with === 'object') {
        for (const [name, cte] of Object.entries(e.with as Record<string, unknown>)) {
          cteNames.add(name.toLowerCase());
          sql.push(...strings(cte));
        }
      }
    }
  }
  return { sql, cteNames };
}

function addNamedColumn(out: ColumnsRead, table: string, column: string): void {
  if (column !== '*')
    (
      (out.get(table) as Set<string> | undefined) ?? (out.set(table, new Set()).get(table) as Set<string>)
    ).add(column);
}

function addColumn(out: ColumnsRead, table: string, column: string): void {
  const current = out.get(table);
  if (current === 'all') return;
  if (column === '*') out.set(table, 'all');
  else (current ?? (out.set(table, new Set()).get(table)! as Set<string>)).add(column);
}

/** Visits the nodes of one SELECT, handing nested SELECTs (subqueries) to `nested` instead of descending. */
function walkScope(node: unknown, visit: (n: AstNode) => void, nested: (n: AstNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walkScope(item, visit, nested);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as AstNode;
  if (n.type === 'select' || n.type === 'union' || n.type === 'union all') {
    nested(n);
    return;
  }
  visit(n);
  for (const [key, value] of Object.entries(n)) if (key !== '_location') walkScope(value, visit, nested);
}

/** Records the tables of one SELECT and the columns read from each, then its subqueries'. */
function collectSelect(select: AstNode, cteNames: Set<string>, out: ColumnsRead, add: AddColumn): void {
  const scope = new Map<string, string>();
  const subqueries: AstNode[] = [];
  for (const from of (select.from as AstNode[] | undefined) ?? []) {
    if (from.type === 'statement') subqueries.push(from.statement as AstNode);
    if (from.type !== 'table') continue;
    const name = from.name as { schema?: string; name: string; alias?: string };
    if (!name.schema && cteNames.has(name.name)) continue;
    const key = `${name.schema ?? DEFAULT_SOURCE_SCHEMA}.${name.name}`;
    if (!out.has(key)) out.set(key, new Set());
    scope.set(name.alias ?? name.name, key);
  }
  // The SELECT's own parts: its FROM subqueries were taken above.
  const own = [
    select.columns,
    select.where,
    select.groupBy,
    select.having,
    select.orderBy,
    ((select.from as AstNode[] | undefined) ?? []).map((f) => f.join)
  ];
  walkScope(
    own,
    (n) => {
      if (n.type !== 'ref') return;
      const qualifier = n.table as { name: string; schema?: string } | undefined;
      if (qualifier) {
        const key = qualifier.schema ? undefined : scope.get(qualifier.name);
        if (key) add(out, key, n.name as string);
        return; // bucket.x, token_parameters.x, …: request values, not columns
      }
      for (const key of scope.values()) add(out, key, n.name as string);
    },
    (n) => subqueries.push(n)
  );
  for (const sub of subqueries) collectNode(sub, cteNames, out, add);
}

function collectNode(node: AstNode, cteNames: Set<string>, out: ColumnsRead, add: AddColumn): void {
  if (node.type === 'select') collectSelect(node, cteNames, out, add);
  else for (const side of [node.left, node.right]) if (side) collectNode(side as AstNode, cteNames, out, add);
}

/**
 * The columns each table is read for. A query the parser cannot read is returned in `unparsed`, so the
 * caller can fall back to reading its tables whole rather than guess.
 */
export function columnsReadByRules(yaml: string): { columns: ColumnsRead; unparsed: string[] } {
  const { sql, cteNames } = rulesSql(yaml);
  const columns: ColumnsRead = new Map();
  const unparsed: string[] = [];
  for (const text of sql) if (!collectSql(text, cteNames, columns)) unparsed.push(text);
  return { columns, unparsed };
}

/** The columns one query of the rules reads (null when the parser cannot read it), for a per-line check. */
export function columnsReadBySql(text: string, cteNames: Set<string>): ColumnsRead | null {
  const columns: ColumnsRead = new Map();
  return collectSql(text, cteNames, columns) ? columns : null;
}

/**
 * The columns one query names, per table, with `*` left out (null when the parser cannot read it): a
 * `SELECT * … WHERE creator = …` still names `creator`, which must exist.
 */
export function columnsNamedBySql(text: string, cteNames: Set<string>): Map<string, Set<string>> | null {
  const columns: ColumnsRead = new Map();
  return collectSql(text, cteNames, columns, addNamedColumn) ? (columns as Map<string, Set<string>>) : null;
}

type AddColumn = (out: ColumnsRead, table: string, column: string) => void;

function collectSql(
  text: string,
  cteNames: Set<string>,
  out: ColumnsRead,
  add: AddColumn = addColumn
): boolean {
  const select = parseSelect(text);
  if (select) collectSelect(select as unknown as AstNode, cteNames, out, add);
  return select !== null;
}
