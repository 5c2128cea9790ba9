import type { SourceTableRef, TablePattern } from '@powersync/service-sync-rules';
import pg from 'pg';
import { SyncScopeError } from '../../errors/index.ts';
import { findTableReferences, formatProblem } from '../../sync-rules/load-sync-rules.ts';
import type { PgColumn } from '../../values/pg-values.ts';

/** A source column: its base type OID (domains resolved, as the service decodes them) and type name. */
export interface SourceColumn extends PgColumn {
  /** `format_type` of the base type, e.g. `text`, `integer`, for explanations. */
  typeName: string;
}

/** A source table as the probe reads it. */
export interface SourceTableInfo {
  ref: SourceTableRef;
  /** `schema.name`. */
  key: string;
  /** `"schema"."name"`, ready for SQL. */
  sqlName: string;
  oid: number;
  columns: SourceColumn[];
  /** The replica identity columns (replica identity index, else primary key). */
  keyColumns: string[];
  /** The columns to SELECT when the rules read only some (`source-access/`); all when absent. */
  readColumns?: string[];
}

type Queryable = Pick<pg.Client, 'query'>;

const tableCache = new WeakMap<Queryable, Map<string, SourceTableInfo[]>>();

function patternKey(p: TablePattern): string {
  return `${p.connectionTag}\u0000${p.schema}\u0000${p.tablePattern}`;
}

/** One table's columns (base type OIDs) and replica identity; the dev sync server reads tables the same way. */
export async function describeSourceTable(
  client: Queryable,
  row: { schema: string; name: string; oid: number },
  connectionTag: string
): Promise<SourceTableInfo> {
  // A domain over a domain resolves down to its base type.
  const { rows: columns } = await client.query<{ name: string; type_oid: string; type_name: string }>(
    `WITH RECURSIVE chain(start_oid, oid, depth) AS (
       SELECT t.oid, t.oid, 0 FROM pg_type t
       WHERE t.oid IN (SELECT atttypid FROM pg_attribute WHERE attrelid = $1 AND attnum > 0)
       UNION ALL
       SELECT c.start_oid, t.typbasetype, c.depth + 1
       FROM chain c JOIN pg_type t ON t.oid = c.oid WHERE t.typtype = 'd'
     )
     SELECT a.attname AS name, b.oid::int AS type_oid, format_type(b.oid, NULL) AS type_name
     FROM pg_attribute a
     CROSS JOIN LATERAL (SELECT c.oid FROM chain c WHERE c.start_oid = a.atttypid
                         ORDER BY c.depth DESC LIMIT 1) b
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [row.oid]
  );
  const { rows: keys } = await client.query<{ name: string }>(
    `SELECT a.attname AS name
     FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = $1 AND (i.indisreplident OR (i.indisprimary AND NOT EXISTS (
       SELECT 1 FROM pg_index r WHERE r.indrelid = $1 AND r.indisreplident)))
     ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [row.oid]
  );
  return {
    ref: { connectionTag, schema: row.schema, name: row.name },
    key: `${row.schema}.${row.name}`,
    sqlName: `${pg.escapeIdentifier(row.schema)}.${pg.escapeIdentifier(row.name)}`,
    oid: row.oid,
    columns: columns.map((c) => ({ name: c.name, typeOid: Number(c.type_oid), typeName: c.type_name })),
    keyColumns: keys.map((k) => k.name)
  };
}

/** Tables (plain or partitioned) in `schema` named `name`, or starting with it for a wildcard. */
export async function findTables(
  client: Queryable,
  wanted: { schema: string; name: string; wildcard: boolean }
): Promise<{ schema: string; name: string; oid: number }[]> {
  const like = wanted.wildcard ? `${wanted.name.replace(/[\\_%]/g, '\\$&')}%` : wanted.name;
  const { rows } = await client.query<{ schema: string; name: string; oid: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 AND c.relname ${wanted.wildcard ? 'LIKE' : '='} $2
     ORDER BY c.relname`,
    [wanted.schema, like]
  );
  return rows.map((row) => ({ ...row, oid: Number(row.oid) }));
}

/** The tables a pattern names (a wildcard pattern can match several), cached per connection. */
export async function tablesForPattern(client: Queryable, pattern: TablePattern): Promise<SourceTableInfo[]> {
  let cache = tableCache.get(client);
  if (!cache) {
    cache = new Map();
    tableCache.set(client, cache);
  }
  const key = patternKey(pattern);
  const cached = cache.get(key);
  if (cached) return cached;
  const rows = await findTables(client, {
    schema: pattern.schema,
    name: pattern.isWildcard ? pattern.tablePrefix : pattern.name,
    wildcard: pattern.isWildcard
  });
  const tables: SourceTableInfo[] = [];
  for (const row of rows) tables.push(await describeSourceTable(client, row, pattern.connectionTag));
  cache.set(key, tables);
  return tables;
}

/**
 * Resolves every table the rules read. A rule naming a table the database does not have is an error
 * naming the table and the rule's line (the service would silently sync nothing from it).
 */
export async function resolveRuleTables(
  client: Queryable,
  patterns: TablePattern[],
  rulesYaml: string
): Promise<SourceTableInfo[]> {
  const out = new Map<string, SourceTableInfo>();
  const missing: string[] = [];
  for (const pattern of patterns) {
    const tables = await tablesForPattern(client, pattern);
    if (tables.length === 0 && !pattern.isWildcard) missing.push(`${pattern.schema}.${pattern.name}`);
    for (const t of tables) out.set(t.key, t);
  }
  if (missing.length > 0) {
    const where = missing
      .flatMap((m) => findTableReferences(rulesYaml, m.split('.').pop()!))
      .map((p) => formatProblem(p));
    throw new SyncScopeError(
      'SYNCSCOPE_E_SYNC_RULES_INVALID',
      `The sync rules read ${missing.length === 1 ? 'a table' : 'tables'} that the source database does not have: ${missing.join(', ')}. ` +
        `Create the table or fix the rule.${where.length ? `\n${where.join('\n')}` : ''}`,
      { missing }
    );
  }
  return [...out.values()];
}

/** A table by name as a user types it: `name` (default schema) or `schema.name`. */
export async function findTableByName(
  client: Queryable,
  name: string,
  defaultSchema: string
): Promise<SourceTableInfo | null> {
  const dot = name.indexOf('.');
  const schema = dot > 0 ? name.slice(0, dot) : defaultSchema;
  const table = dot > 0 ? name.slice(dot + 1) : name;
  const { rows } = await client.query<{ schema: string; name: string; oid: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 AND c.relname = $2`,
    [schema, table]
  );
  const row = rows[0];
  return row ? describeSourceTable(client, { ...row, oid: Number(row.oid) }, 'default') : null;
}
