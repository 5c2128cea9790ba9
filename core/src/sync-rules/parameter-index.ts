/**
 * The parameter index: what a source row of a parameter table contributes to bucket resolution. The
 * service builds it while it replicates (for parameter queries and sync-stream subqueries alike) and a
 * connection's querier reads it by lookup. The dev sync server stores these entries; the probe and
 * `explain` read rows from Postgres and evaluate them with the same function, so all three agree.
 */
import type {
  HydratedSyncConfig,
  ParameterIndexLookupCreator,
  SourceTableRef,
  SqliteJsonRow,
  SqliteRow
} from '@powersync/service-sync-rules';

/** One lookup a row answers and the bucket parameter rows it answers it with. */
export interface ParameterIndexEntry {
  /** The scoped lookup, serialized as the querier asks for it (`["lookupName","queryId",...values]`). */
  lookup: string;
  bucketParameters: SqliteJsonRow[];
}

/**
 * Evaluates one row (already lowered with `applyRowContext`) with the rules library, against every
 * parameter lookup source reading its table or only `sources`. Results with the same lookup are merged
 * into one entry, as the service keeps one index entry per row and lookup.
 */
export function parameterIndexEntries(
  rules: HydratedSyncConfig,
  table: SourceTableRef,
  record: SqliteRow,
  sources?: ParameterIndexLookupCreator[]
): { entries: ParameterIndexEntry[]; errors: string[] } {
  const evaluated = rules.evaluateParameterRowWithErrors(
    table,
    record,
    sources ? { parameterLookupSources: sources } : undefined
  );
  const merged = new Map<string, SqliteJsonRow[]>();
  for (const r of evaluated.results) {
    const lookup = r.lookup.serializedRepresentation;
    merged.set(lookup, [...(merged.get(lookup) ?? []), ...r.bucketParameters]);
  }
  return {
    entries: [...merged].map(([lookup, bucketParameters]) => ({ lookup, bucketParameters })),
    errors: evaluated.errors.map((e) => e.error)
  };
}
