import type { HydratedSyncConfig } from '@powersync/service-sync-rules';
import { SyncScopeError } from '@syncscope/core';
import { describeSourceTable, resolveRuleTables } from '@syncscope/core/probe/expected/source-tables';
import type { PgColumn } from '@syncscope/core/values/pg-values';
import type pg from 'pg';
import { makeSourceTable, type SourceTable } from '../storage/source-table.ts';

export const PUBLICATION_NAME = 'powersync';

export interface ReplicatedTable {
  table: SourceTable;
  oid: number;
  columns: PgColumn[];
  /** False when the table exists but is not in the `powersync` publication: changes will not arrive. */
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

/**
 * Resolves every table the sync rules read (core's resolution, shared with the probe). A rule naming a
 * table that does not exist is an error naming the table and its line; an unpublished table is returned
 * with `published: false` (diagnostics show it).
 */
export async function resolveSourceTables(
  client: pg.Client | pg.PoolClient,
  rules: HydratedSyncConfig,
  rulesYaml = ''
): Promise<ReplicatedTable[]> {
  const tables = await resolveRuleTables(client, rules.getSourceTables(), rulesYaml);
  const { rows } = await client.query<{ key: string }>(
    "SELECT schemaname || '.' || tablename AS key FROM pg_publication_tables WHERE pubname = $1",
    [PUBLICATION_NAME]
  );
  const published = new Set(rows.map((r) => r.key));
  return tables.map((info) => ({
    table: makeSourceTable(
      info.ref.schema,
      info.ref.name,
      info.keyColumns.length > 0 ? info.keyColumns : ['id'],
      {
        syncsData: rules.tableSyncsData(info.ref),
        syncsParameters: rules.tableSyncsParameters(info.ref)
      }
    ),
    oid: info.oid,
    columns: info.columns,
    published: published.has(info.key)
  }));
}

/** A table's current columns, re-read after an ALTER TABLE. */
export async function tableColumns(
  client: pg.Client | pg.PoolClient,
  table: ReplicatedTable
): Promise<PgColumn[]> {
  const info = await describeSourceTable(
    client,
    { schema: table.table.schema, name: table.table.name, oid: table.oid },
    table.table.connectionTag
  );
  return info.columns;
}

/** The replica id of a row: its key columns as JSON text (stable across restarts). */
export function replicaIdOf(table: SourceTable, row: Record<string, string | null | undefined>): string {
  if (table.replicaIdColumns.length === 1) return String(row[table.replicaIdColumns[0]!] ?? '');
  return JSON.stringify(table.replicaIdColumns.map((c) => row[c] ?? null));
}
