/**
 * One pass over every table either version syncs, each row evaluated by both (as the service's
 * replication would): the rows of the buckets the considered users hold, what the draft would write
 * when reprocessing (every bucket, held or not), and per table the rows that land in no held bucket.
 * Rows are kept only as small integers per held bucket; the JSON is measured, not kept.
 */
import type { BucketDataSource } from '@powersync/service-sync-rules';
import { rowJson } from '../../probe/expected/fast-encoding.ts';
import { replicaIdOf, scanRows, selectFrom } from '../../probe/expected/row-scan.ts';
import type { SourceSession } from '../../probe/expected/source-session.ts';
import { type SourceTableInfo, tablesForPattern } from '../../probe/expected/source-tables.ts';
import { ruleTableAccess, ruleTableFor, withRuleColumns } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { pgRowToSyncRulesRow } from '../../values/pg-values.ts';
import type { UncoveredTable } from './dry-run-report.ts';

export const NEWLY_UNCOVERED_SAMPLE_SIZE = 10;

/** A held bucket's rows: indices into the run's row keys (output table + id) and each row's JSON bytes. */
export interface HeldBucketRows {
  rows: number[];
  bytes: number[];
}

export interface BucketContents {
  current: Map<string, HeldBucketRows>;
  draft: Map<string, HeldBucketRows>;
  /** Every data result the draft gives (one PUT operation per row per bucket) and their JSON bytes. */
  reprocessing: { operations: number; bytes: number };
  uncovered: UncoveredTable[];
}

interface Version {
  rules: LoadedSyncRules;
  held: ReadonlySet<string>;
  out: Map<string, HeldBucketRows>;
  sources: BucketDataSource[] | null;
}

export async function readBucketContents(
  session: SourceSession,
  rules: { current: LoadedSyncRules; draft: LoadedSyncRules },
  held: { current: ReadonlySet<string>; draft: ReadonlySet<string> },
  options: { signal?: AbortSignal; onError?: (message: string) => void } = {}
): Promise<BucketContents> {
  const rowIndex = new Map<string, number>();
  const contents: BucketContents = {
    current: new Map(),
    draft: new Map(),
    reprocessing: { operations: 0, bytes: 0 },
    uncovered: []
  };
  for (const table of await dataTables(session, rules)) {
    options.signal?.throwIfAborted();
    const versions: Version[] = [
      versionFor(rules.current, held.current, contents.current, table),
      versionFor(rules.draft, held.draft, contents.draft, table)
    ];
    const uncovered: UncoveredTable = { table: table.key, current: 0, draft: 0, newlyUncoveredSampleIds: [] };
    await scanRows(session.client, selectFrom(table), [], (batch) => {
      for (const raw of batch) {
        const [inCurrent, inDraft] = versions.map((v, i) =>
          evaluate(v, table, raw, rowIndex, i === 1 ? contents.reprocessing : null, options.onError)
        );
        if (!inCurrent) uncovered.current++;
        if (!inDraft) uncovered.draft++;
        if (inCurrent && !inDraft && uncovered.newlyUncoveredSampleIds.length < NEWLY_UNCOVERED_SAMPLE_SIZE)
          uncovered.newlyUncoveredSampleIds.push(replicaIdOf(table, raw));
      }
      options.signal?.throwIfAborted();
    });
    contents.uncovered.push(uncovered);
  }
  return contents;
}

function versionFor(
  rules: LoadedSyncRules,
  held: ReadonlySet<string>,
  out: Map<string, HeldBucketRows>,
  table: SourceTableInfo
): Version {
  const syncs = rules.hydrated.tableSyncsData(table.ref);
  return {
    rules,
    held,
    out,
    sources: syncs ? rules.hydrated.getMatchingSources(table.ref).bucketDataSources : null
  };
}

/** Evaluates one row under one version; true when some held bucket gets it. */
function evaluate(
  v: Version,
  table: SourceTableInfo,
  raw: Record<string, string | null>,
  rowIndex: Map<string, number>,
  reprocessing: BucketContents['reprocessing'] | null,
  onError?: (message: string) => void
): boolean {
  if (!v.sources) return false;
  const record = v.rules.hydrated.applyRowContext<never>(pgRowToSyncRulesRow(table.columns, raw));
  const evaluated = v.rules.hydrated.evaluateRowWithErrors({
    sourceTable: table.ref,
    record,
    bucketDataSources: v.sources
  });
  for (const e of evaluated.errors) onError?.(`${table.key} ${replicaIdOf(table, raw)}: ${e.error}`);
  let covered = false;
  for (const r of evaluated.results) {
    const heldHere = v.held.has(r.bucket);
    if (!heldHere && !reprocessing) continue;
    const bytes = Buffer.byteLength(rowJson(r.data));
    if (reprocessing) {
      reprocessing.operations++;
      reprocessing.bytes += bytes;
    }
    if (!heldHere) continue;
    covered = true;
    const key = `${r.table}\u0000${r.id}`;
    let index = rowIndex.get(key);
    if (index === undefined) {
      index = rowIndex.size;
      rowIndex.set(key, index);
    }
    let bucket = v.out.get(r.bucket);
    if (!bucket) {
      bucket = { rows: [], bytes: [] };
      v.out.set(r.bucket, bucket);
    }
    bucket.rows.push(index);
    bucket.bytes.push(bytes);
  }
  return covered;
}

/**
 * The tables either version syncs data from, each read for the columns either version reads (the source
 * role is granted the current rules' columns; the schema check has made sure of the draft's).
 */
async function dataTables(
  session: SourceSession,
  rules: { current: LoadedSyncRules; draft: LoadedSyncRules }
): Promise<SourceTableInfo[]> {
  const out = new Map<string, SourceTableInfo>();
  for (const pattern of [
    ...rules.current.hydrated.getSourceTables(),
    ...rules.draft.hydrated.getSourceTables()
  ]) {
    for (const table of await tablesForPattern(session.client, pattern)) {
      const readers = [rules.current, rules.draft].filter(
        (r) =>
          r.hydrated.tableSyncsData(table.ref) &&
          ruleTableFor(ruleTableAccess(r), table.ref.schema, table.ref.name)
      );
      if (readers.length === 0 || out.has(table.key)) continue;
      const columns = readers.map((r) => withRuleColumns(r, table).readColumns);
      out.set(
        table.key,
        columns.some((c) => c === undefined)
          ? table
          : { ...table, readColumns: [...new Set(columns.flatMap((c) => c ?? []))] }
      );
    }
  }
  return [...out.values()];
}
