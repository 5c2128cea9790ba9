/**
 * What the source's catalog says about the tables the rules read: columns and the value class sync rules
 * see them as, publication membership, replica identity, leading index columns and average widths. Only
 * catalog views every role may read (pg_class, pg_index, pg_publication_tables).
 */
import pg from 'pg';
import { PgOid } from '../../values/pg-values.ts';
import type { TableName } from './rule-shapes.ts';

/** The publication the PowerSync service replicates from. */
export const POWERSYNC_PUBLICATION = 'powersync';

/**
 * How sync rules compare a column's values: integers, floats and booleans are numbers, bytea a blob,
 * everything else (uuid, numeric, dates, json) text. Text never equals a number: `'42' = 42` is false.
 */
export type ValueClass = 'number' | 'text' | 'blob';

const NUMBER_OIDS = new Set<number>([
  PgOid.INT2,
  PgOid.INT4,
  PgOid.INT8,
  PgOid.OID,
  PgOid.FLOAT4,
  PgOid.FLOAT8,
  PgOid.BOOL
]);

export function valueClassOf(typeOid: number): ValueClass {
  if (NUMBER_OIDS.has(typeOid)) return 'number';
  return typeOid === PgOid.BYTEA ? 'blob' : 'text';
}

export interface CatalogColumn {
  name: string;
  typeOid: number;
  typeName: string;
  valueClass: ValueClass;
  /** Variable width (text, bytea, json, arrays): a value may be large. */
  variableWidth: boolean;
}

export interface CatalogTable extends TableName {
  /** `"schema"."name"` for SQL. */
  sqlName: string;
  columns: Map<string, CatalogColumn>;
  published: boolean;
  /** Updates and deletes replicate with a key: replica identity FULL, an index, or a primary key. */
  hasReplicaIdentity: boolean;
  /** Columns that lead an index (a lookup by them can use it). */
  indexedLeadColumns: Set<string>;
  /** Column sets no two rows share: valid, non-partial unique indexes over NOT NULL columns. */
  uniqueKeys: string[][];
  estimatedRows: number;
}

type Queryable = Pick<pg.Client, 'query'>;

/** The session returns Postgres's text forms (source-session.ts): 't'/'f' for booleans, digits for numbers. */
export const yes = (value: unknown) => value === true || value === 't';

export function tableKey(t: TableName): string {
  return `${t.schema}.${t.name}`;
}

/** Reads the tables that exist; missing ones are absent from the map. */
export async function readCatalog(
  client: Queryable,
  tables: TableName[]
): Promise<Map<string, CatalogTable>> {
  const { rows } = await client.query<{
    oid: string;
    schema: string;
    name: string;
    published: unknown;
    has_identity: unknown;
    estimated_rows: string;
  }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name,
       EXISTS (SELECT 1 FROM pg_publication_tables p
               WHERE p.pubname = $3 AND p.schemaname = n.nspname AND p.tablename = c.relname) AS published,
       (c.relreplident = 'f'
        OR (c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident))
        OR (c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
       ) AS has_identity,
       greatest(c.reltuples, 0)::bigint::text AS estimated_rows
     FROM unnest($1::text[], $2::text[]) AS w(schema, name)
     JOIN pg_namespace n ON n.nspname = w.schema
     JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name AND c.relkind IN ('r', 'p')`,
    [tables.map((t) => t.schema), tables.map((t) => t.name), POWERSYNC_PUBLICATION]
  );
  const out = new Map<string, CatalogTable>();
  for (const r of rows) {
    out.set(`${r.schema}.${r.name}`, {
      schema: r.schema,
      name: r.name,
      sqlName: `${pg.escapeIdentifier(r.schema)}.${pg.escapeIdentifier(r.name)}`,
      columns: await readColumns(client, Number(r.oid)),
      published: yes(r.published),
      hasReplicaIdentity: yes(r.has_identity),
      indexedLeadColumns: await readIndexedLeadColumns(client, Number(r.oid)),
      uniqueKeys: await readUniqueKeys(client, Number(r.oid)),
      estimatedRows: Number(r.estimated_rows)
    });
  }
  return out;
}

async function readColumns(client: Queryable, oid: number) {
  // Domains are compared as their base type (getBaseType), as the service decodes them.
  const { rows } = await client.query<{
    name: string;
    type_oid: string;
    type_name: string;
    typlen: string;
  }>(
    `SELECT a.attname AS name, b.oid::int AS type_oid, format_type(b.oid, NULL) AS type_name, b.typlen
     FROM pg_attribute a
     CROSS JOIN LATERAL (SELECT t.oid, t.typlen FROM pg_type t
       WHERE t.oid = CASE WHEN (SELECT typtype FROM pg_type WHERE oid = a.atttypid) = 'd'
                          THEN (SELECT typbasetype FROM pg_type WHERE oid = a.atttypid) ELSE a.atttypid END) b
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid]
  );
  return new Map(
    rows.map((c) => [
      c.name,
      {
        name: c.name,
        typeOid: Number(c.type_oid),
        typeName: c.type_name,
        valueClass: valueClassOf(Number(c.type_oid)),
        variableWidth: Number(c.typlen) === -1
      }
    ])
  );
}

async function readIndexedLeadColumns(client: Queryable, oid: number): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = $1 AND i.indisvalid AND i.indpred IS NULL`,
    [oid]
  );
  return new Set(rows.map((r) => r.name));
}

async function readUniqueKeys(client: Queryable, oid: number): Promise<string[][]> {
  // A NULL is distinct from every other NULL in a unique index, so only NOT NULL columns make a key;
  // an expression column (attnum 0) is not a column.
  const { rows } = await client.query<{ columns: string }>(
    `SELECT json_agg(a.attname ORDER BY a.attname)::text AS columns FROM pg_index i
     CROSS JOIN LATERAL unnest(i.indkey[0:i.indnkeyatts - 1]) AS k(attnum)
     LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND a.attnotnull
     WHERE i.indrelid = $1 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL
     GROUP BY i.indexrelid HAVING bool_and(a.attname IS NOT NULL)`,
    [oid]
  );
  return rows.map((r) => JSON.parse(r.columns) as string[]);
}
