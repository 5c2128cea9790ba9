import { pgRowToSyncRulesRow } from '@syncscope/core/values/pg-values';
import pg from 'pg';
import type { RowChange } from '../storage/apply-changes.ts';
import type { BucketStorage } from '../storage/bucket-storage.ts';
import { type ReplicatedTable, replicaIdOf } from './source-schema.ts';

const SNAPSHOT_FETCH_ROWS = 10_000;

/** node-pg hands every value over as Postgres text; decoding is ours (by type OID, as the service does). */
export const rawTextTypes = {
  getTypeParser: () => (value: string) => value
} as unknown as pg.CustomTypesConfig;

export interface SlotCreation {
  consistentPoint: string;
  snapshotName: string;
  /** Keeps the exported snapshot alive: close only after the copy is done. */
  replicationClient: pg.Client;
}

/**
 * Creates the slot with an exported snapshot, so the copy below sees exactly the data before the
 * slot's consistent point and streaming from that point misses and repeats nothing.
 */
export async function createSlotWithSnapshot(sourceUrl: string, slotName: string): Promise<SlotCreation> {
  const replicationClient = new pg.Client({
    connectionString: sourceUrl,
    replication: 'database'
  } as pg.ClientConfig);
  replicationClient.on('error', () => {});
  await replicationClient.connect();
  const { rows } = await replicationClient.query(
    `CREATE_REPLICATION_SLOT ${pg.escapeIdentifier(slotName)} LOGICAL pgoutput EXPORT_SNAPSHOT`
  );
  const row = rows[0] as { consistent_point: string; snapshot_name: string };
  return { consistentPoint: row.consistent_point, snapshotName: row.snapshot_name, replicationClient };
}

/**
 * Copies every published table in the exported snapshot into bucket storage, in chunks through a cursor, so
 * memory stays bounded by one chunk whatever the table's size. `onRows` gets the table as the service logs it
 * (`"public"."records"`), the chunk's rows and the table's rows so far; `stopped` ends the copy early.
 */
export async function copyInitialSnapshot(
  sourceUrl: string,
  snapshotName: string,
  tables: ReplicatedTable[],
  storage: BucketStorage,
  onRows: (table: string, rows: number, total: number) => void,
  stopped: () => boolean = () => false
): Promise<void> {
  const client = new pg.Client({ connectionString: sourceUrl, types: rawTextTypes });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replace(/'/g, "''")}'`);
    for (const t of tables) {
      if (!t.published || stopped()) continue;
      const name = `${pg.escapeIdentifier(t.table.schema)}.${pg.escapeIdentifier(t.table.name)}`;
      await client.query(`DECLARE snapshot_cursor NO SCROLL CURSOR FOR SELECT * FROM ${name}`);
      let total = 0;
      while (!stopped()) {
        const { rows } = await client.query<Record<string, string | null>>(
          `FETCH ${SNAPSHOT_FETCH_ROWS} FROM snapshot_cursor`
        );
        if (rows.length === 0) break;
        const changes: RowChange[] = rows.map((row) => ({
          kind: 'put',
          table: t.table,
          replicaId: replicaIdOf(t.table, row),
          row: pgRowToSyncRulesRow(t.columns, row)
        }));
        await storage.applyTransaction(changes, '0/0');
        total += rows.length;
        onRows(name, rows.length, total);
      }
      await client.query('CLOSE snapshot_cursor');
    }
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}
