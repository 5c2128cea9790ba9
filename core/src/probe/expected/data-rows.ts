/**
 * The per-row step of the expected state's data phase, shared by the snapshot's own scan and the
 * partitions other threads scan: a source row through the sync rules into the rows of the user's
 * buckets, with the JSON and PUT checksum the service would send.
 */
import type { BucketDataSource } from '@powersync/service-sync-rules';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { pgRowToSyncRulesRow } from '../../values/pg-values.ts';
import type { ExpectedRowStore } from './expected-rows.ts';
import { rowChecksum, rowJson } from './fast-encoding.ts';
import { replicaIdOf, type TextRow } from './row-scan.ts';
import type { SourceTableInfo } from './source-tables.ts';

/** What one table's data scan evaluates rows with, and where the rows go. */
export interface DataRowsTarget {
  rules: LoadedSyncRules;
  table: SourceTableInfo;
  /** The definitions the user has a bucket of that read this table. */
  sources: BucketDataSource[];
  /** The user's bucket ids: a row in any other bucket is not the user's. */
  bucketIds: ReadonlySet<string>;
  store: ExpectedRowStore;
  /** The scan's index in the report, tagged on each row (conflicts are counted against it). */
  tag: number;
  onError: (message: string) => void;
}

/** Evaluates one batch of source rows into `target.store`; returns how many rows the user holds from it. */
export function addDataRows(target: DataRowsTarget, batch: readonly TextRow[]): number {
  const { rules, table, sources, bucketIds, store, tag } = target;
  let kept = 0;
  for (const raw of batch) {
    const record = rules.hydrated.applyRowContext<never>(pgRowToSyncRulesRow(table.columns, raw));
    const evaluated = rules.hydrated.evaluateRowWithErrors({
      sourceTable: table.ref,
      record,
      bucketDataSources: sources
    });
    for (const e of evaluated.errors) target.onError(`${table.key} ${replicaIdOf(table, raw)}: ${e.error}`);
    for (const r of evaluated.results) {
      if (!bucketIds.has(r.bucket)) continue; // not one of the user's buckets
      const json = rowJson(r.data);
      store.add(
        { table: r.table, id: r.id, json, checksum: rowChecksum(r.table, r.id, json), buckets: [r.bucket] },
        tag
      );
      kept++;
    }
  }
  store.flush();
  return kept;
}
