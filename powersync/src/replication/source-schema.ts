import type { HydratedSyncConfig, TablePattern } from '@powersync/service-sync-rules';
import { SyncScopeError } from '@syncscope/core';
import { findTableReferences, formatProblem } from '@syncscope/core/sync-rules/load-sync-rules';
import type { PgColumn } from '@syncscope/core/values/pg-values';
import type pg from 'pg';
import { makeSourceTable, type SourceTable } from '../storage/source-table.ts';

export const PUBLICATION_NAME = 'powersync';

export interface ReplicatedTable {
  table: SourceTable;
  columns: PgColumn[];
  /** False when the table exists but is not in the `powersync` publication: changes will not arrive. */
  published: boolean;
}

interface TableRow {
  schema: string;
  name: string;
  oid: number;
  published: boolean;
}

/** Checks what logical replication needs, with a message saying how to fix each gap. */
export async function checkSourceReady(client: pg.Client | pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
  if (rows[0]?.wal_level !== 'logical') {
    throw new SyncScopeError(
      'SYNCSCOPE_E_REPLICATION_SETUP',
      `The source Postgres has wal_level=${rows[0]?.wal_level}; logical replication needs wal_level=logical (set it in postgresql.conf and restart Postgres).`
    );
  }
  const pub = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [PUBLICATION_NAME]);
  if (pub.rowCount === 0) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_REPLICATION_SETUP',
      `The source database has no publication named "${PUBLICATION_NAME}". Create it: CREATE PUBLICATION ${PUBLICATION_NAME} FOR ALL TABLES;`
    );
  }
}

async function tablesMatching(client: pg.Client | pg.PoolClient, pattern: TablePattern): Promise<TableRow[]> {
  const like = pattern.isWildcard ? `${pattern.tablePrefix.replace(/[\\_%]/g, '\\$&')}%` : pattern.name;
  const op = pattern.isWildcard ? 'LIKE' : '=';
  const { rows } = await client.query<TableRow>(
    `SELECT n.nspname AS schema, c.relname AS name, c.oid::int AS oid,
            EXISTS (SELECT 1 FROM pg_publication_tables p
                    WHERE p.pubname = $3 AND p.schemaname = n.nspname AND p.tablename = c.relname) AS published
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 AND c.relname ${op} $2`,
    [pattern.schema, like, PUBLICATION_NAME]
  );
  return rows;
}

/** Columns with their type OIDs; a domain (also a domain over a domain) reports its base type. */
export async function tableColumns(client: pg.Client | pg.PoolClient, tableOid: number): Promise<PgColumn[]> {
  const { rows } = await client.query<{ name: string; type_oid: number }>(
    `WITH RECURSIVE base(attnum, type_oid, typtype, typbasetype) AS (
       SELECT a.attnum, t.oid, t.typtype, t.typbasetype
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT b.attnum, t.oid, t.typtype, t.typbasetype FROM base b JOIN pg_type t ON t.oid = b.typbasetype
       WHERE b.typtype = 'd')
     SELECT a.attname AS name, b.type_oid::int AS type_oid
     FROM base b JOIN pg_attribute a ON a.attrelid = $1 AND a.attnum = b.attnum
     WHERE b.typtype <> 'd' ORDER BY a.attnum`,
    [tableOid]
  );
  return rows.map((r) => ({ name: r.name, typeOid: r.type_oid }));
}

/** The replica identity: the replica identity index if set, else the primary key. */
async function replicaIdColumns(client: pg.Client | pg.PoolClient, tableOid: number): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT a.attname AS name
     FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
     WHERE i.indrelid = $1 AND (i.indisreplident OR (i.indisprimary AND NOT EXISTS (
       SELECT 1 FROM pg_index r WHERE r.indrelid = $1 AND r.indisreplident)))
     ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [tableOid]
  );
  return rows.map((r) => r.name);
}

/**
 * Resolves every table the sync rules read. A rule naming a table that does not exist is an error
 * naming the table; an unpublished table is returned with `published: false` (diagnostics show it).
 */
export async function resolveSourceTables(
  client: pg.Client | pg.PoolClient,
  rules: HydratedSyncConfig,
  rulesYaml = ''
): Promise<ReplicatedTable[]> {
  const resolved = new Map<string, ReplicatedTable>();
  const missing: string[] = [];
  for (const pattern of rules.getSourceTables()) {
    const rows = await tablesMatching(client, pattern);
    if (rows.length === 0 && !pattern.isWildcard) missing.push(`${pattern.schema}.${pattern.name}`);
    for (const row of rows) {
      const ref = { connectionTag: pattern.connectionTag, schema: row.schema, name: row.name };
      const keyColumns = await replicaIdColumns(client, row.oid);
      const table = makeSourceTable(row.schema, row.name, keyColumns.length > 0 ? keyColumns : ['id'], {
        syncsData: rules.tableSyncsData(ref),
        syncsParameters: rules.tableSyncsParameters(ref)
      });
      resolved.set(table.key, {
        table,
        columns: await tableColumns(client, row.oid),
        published: row.published
      });
    }
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
  return [...resolved.values()];
}

/** The replica id of a row: its key columns as JSON text (stable across restarts). */
export function replicaIdOf(table: SourceTable, row: Record<string, string | null | undefined>): string {
  if (table.replicaIdColumns.length === 1) return String(row[table.replicaIdColumns[0]!] ?? '');
  return JSON.stringify(table.replicaIdColumns.map((c) => row[c] ?? null));
}
