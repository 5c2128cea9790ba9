/**
 * The source tables and columns a target's sync rules read: the allowlist for everything SyncScope reads
 * from a source (probe, explain, row trace, the inspector's comparison, user search) and for the
 * least-privilege role `syncscope source-role` prints.
 */
import { SyncScopeError } from '../errors/index.ts';
import type { SourceTableInfo } from '../probe/expected/source-tables.ts';
import { DEFAULT_SOURCE_SCHEMA, type LoadedSyncRules } from '../sync-rules/load-sync-rules.ts';
import { columnsReadByRules } from './rule-columns.ts';

export interface TableAccess {
  schema: string;
  /** The table's name; for a wildcard rule table (`"todos_%"`), the prefix its names start with. */
  table: string;
  wildcard: boolean;
  /** The columns the rules read from it (data queries' output and filters, parameter queries), or `all` for `*`. */
  columns: 'all' | string[];
}

/** The targets file's `user_search`: the app's users table, read only for its id (and email) column. */
export interface UserSearchAccess {
  schema: string;
  table: string;
  idColumn: string;
  emailColumn?: string;
}

export interface SourceAccess {
  tables: TableAccess[];
  userSearch?: UserSearchAccess;
}

const tablesCache = new WeakMap<LoadedSyncRules, TableAccess[]>();

/** The tables (and their columns) the rules read, in the order the rules library lists them. */
export function ruleTableAccess(rules: LoadedSyncRules): TableAccess[] {
  const cached = tablesCache.get(rules);
  if (cached) return cached;
  const { columns } = columnsReadByRules(rules.yaml);
  const tables = new Map<string, TableAccess>();
  for (const pattern of rules.hydrated.getSourceTables()) {
    const key = `${pattern.schema}.${pattern.tablePattern}`;
    if (tables.has(key)) continue;
    // A table the parser did not attribute columns to is read whole rather than guessed at.
    const read = columns.get(key) ?? 'all';
    tables.set(key, {
      schema: pattern.schema,
      table: pattern.isWildcard ? pattern.tablePrefix : pattern.name,
      wildcard: pattern.isWildcard,
      columns: read === 'all' ? 'all' : [...read].sort()
    });
  }
  const out = [...tables.values()];
  tablesCache.set(rules, out);
  return out;
}

export function sourceAccessOf(rules: LoadedSyncRules, userSearch?: UserSearchAccess): SourceAccess {
  return { tables: ruleTableAccess(rules), ...(userSearch ? { userSearch } : {}) };
}

/** `users` or `public.users` from the targets file, as schema and table. */
export function userSearchAccess(config: {
  table: string;
  id_column: string;
  email_column?: string;
}): UserSearchAccess {
  const dot = config.table.indexOf('.');
  return {
    schema: dot > 0 ? config.table.slice(0, dot) : DEFAULT_SOURCE_SCHEMA,
    table: dot > 0 ? config.table.slice(dot + 1) : config.table,
    idColumn: config.id_column,
    ...(config.email_column ? { emailColumn: config.email_column } : {})
  };
}

export function tableLabel(t: Pick<TableAccess, 'schema' | 'table' | 'wildcard'>): string {
  return `${t.schema}.${t.table}${t.wildcard ? '%' : ''}`;
}

/** The rule table a catalog table (exact schema and name) falls under, if any. */
export function ruleTableFor(tables: TableAccess[], schema: string, name: string): TableAccess | undefined {
  return tables.find(
    (t) => t.schema === schema && (t.wildcard ? name.startsWith(t.table) : t.table === name)
  );
}

export function tableNotInRules(tables: TableAccess[], what: string): SyncScopeError {
  const listed = tables.map(tableLabel).join(', ') || 'none';
  return new SyncScopeError(
    'SYNCSCOPE_E_TABLE_NOT_IN_RULES',
    `The sync rules do not read ${what}, so SyncScope does not read it. The tables they read: ${listed}.`,
    { tables: tables.map(tableLabel) }
  );
}

/**
 * The table a user typed (`records`, `public.records`, or a data query's output table name), checked
 * against the rules before anything is queried. Names are matched exactly as the catalog spells them;
 * quoting, other schemas, catalogs and tables no rule reads are refused.
 */
export function allowedTableByName(
  rules: LoadedSyncRules,
  typed: string,
  outputNameToSource: (name: string) => { schema: string; name: string } | undefined
): { schema: string; name: string } {
  const tables = ruleTableAccess(rules);
  const dot = typed.indexOf('.');
  const schema = dot > 0 ? typed.slice(0, dot) : DEFAULT_SOURCE_SCHEMA;
  const name = dot > 0 ? typed.slice(dot + 1) : typed;
  if (ruleTableFor(tables, schema, name)) return { schema, name };
  const output = dot > 0 ? undefined : outputNameToSource(typed);
  if (output && ruleTableFor(tables, output.schema, output.name)) return output;
  throw tableNotInRules(tables, `table "${typed}"`);
}

/** The rules' columns of a table, or undefined when it is read whole (`*`) or not a rule table. */
export function ruleColumnsOf(
  rules: LoadedSyncRules,
  table: { schema: string; name: string }
): string[] | undefined {
  const access = ruleTableFor(ruleTableAccess(rules), table.schema, table.name);
  return access && access.columns !== 'all' ? access.columns : undefined;
}

/**
 * The table as SyncScope may read it: `readColumns` is the rules' columns plus the replica identity (which
 * keys a row), so `SELECT` lists only those; undefined when the rules read every column. A table no rule
 * reads is refused.
 */
export function withRuleColumns(rules: LoadedSyncRules, table: SourceTableInfo): SourceTableInfo {
  const access = ruleTableFor(ruleTableAccess(rules), table.ref.schema, table.ref.name);
  if (!access) throw tableNotInRules(ruleTableAccess(rules), `table ${table.key}`);
  if (access.columns === 'all') return table;
  const wanted = new Set([...access.columns, ...table.keyColumns]);
  return { ...table, readColumns: table.columns.map((c) => c.name).filter((c) => wanted.has(c)) };
}
