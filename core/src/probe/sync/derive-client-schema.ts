import { column, Schema, Table } from '@powersync/node';
import type { SyncConfig } from '@powersync/service-sync-rules';
import { SchemaGenerator, StaticSchema } from '@powersync/service-sync-rules';
import type pg from 'pg';

// Postgres types the service sends as SQLite integers / reals; everything else is text.
const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'oid', 'bool']);
const REAL_TYPES = new Set(['float4', 'float8']);

/** Reads the source's column types for the tables the rules read, as the rules library wants them. */
async function sourceSchema(client: pg.Client | pg.PoolClient, schemaName = 'public'): Promise<StaticSchema> {
  const { rows } = await client.query<{ table_name: string; column_name: string; udt_name: string }>(
    `SELECT c.table_name, c.column_name, coalesce(bt.typname, c.udt_name) AS udt_name
     FROM information_schema.columns c
     JOIN pg_type t ON t.typname = c.udt_name
     LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
     WHERE c.table_schema = $1 ORDER BY c.table_name, c.ordinal_position`,
    [schemaName]
  );
  const tables = new Map<
    string,
    { name: string; sqlite_type: 'integer' | 'real' | 'text'; internal_type: string }[]
  >();
  for (const r of rows) {
    const sqlite = INTEGER_TYPES.has(r.udt_name) ? 'integer' : REAL_TYPES.has(r.udt_name) ? 'real' : 'text';
    tables.set(r.table_name, [
      ...(tables.get(r.table_name) ?? []),
      { name: r.column_name, sqlite_type: sqlite, internal_type: r.udt_name }
    ]);
  }
  return new StaticSchema([
    {
      tag: 'default',
      schemas: [{ name: schemaName, tables: [...tables].map(([name, columns]) => ({ name, columns })) }]
    }
  ]);
}

/** Exposes the library's own output-table derivation (what the service's schema generators use). */
class ClientSchemaDeriver extends SchemaGenerator {
  readonly key = 'syncscope';
  readonly label = 'SyncScope probe schema';
  readonly mediaType = 'application/json';
  readonly fileName = 'schema.json';
  generate(): string {
    return '';
  }
  tables(config: SyncConfig, schema: StaticSchema) {
    return this.getAllTables(config, schema).map((t) => ({
      name: t.name,
      columns: t.columns
        .filter((c) => c.name !== 'id')
        .map((c) => ({ name: c.name, type: this.columnType(c) }))
    }));
  }
}

/**
 * The client schema a probe syncs with: every output table of the rules with the source's column types,
 * so nobody writes one by hand and every synced row lands in a typed table.
 */
export async function deriveClientSchema(
  client: pg.Client | pg.PoolClient,
  config: SyncConfig
): Promise<Schema> {
  const tables = new ClientSchemaDeriver().tables(config, await sourceSchema(client));
  const definitions: Record<string, Table> = {};
  for (const t of tables) {
    const columns = Object.fromEntries(t.columns.map((c) => [c.name, column[c.type]]));
    definitions[t.name] = new Table(columns);
  }
  return new Schema(definitions);
}
