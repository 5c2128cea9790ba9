/**
 * The source rows behind a set of synced rows (`table/id` as the stream names them), read again and put
 * through the rules for one user's buckets: what a canary re-reads after each checkpoint_diff, instead
 * of the user's whole state. Only the rules' tables and columns are read (source-access/).
 */
import pg from 'pg';
import { addDataRows } from '../probe/expected/data-rows.ts';
import { MemoryExpectedRows } from '../probe/expected/expected-rows.ts';
import { equalityCondition, selectFrom, type TextRow } from '../probe/expected/row-scan.ts';
import { bucketDefinitions, selectOutputExpressions } from '../probe/expected/rule-analysis.ts';
import type { SourceTableInfo } from '../probe/expected/source-tables.ts';
import type { SyncedRow } from '../probe/probe-types.ts';
import { withRuleColumns } from '../source-access/source-access.ts';
import type { LoadedSyncRules } from '../sync-rules/load-sync-rules.ts';
import { rowKeyOf } from './compare-rows.ts';

/** `table/id` split at the first slash: output table names have none, ids may. */
export function splitRowKey(key: string): { table: string; id: string } {
  const slash = key.indexOf('/');
  return { table: key.slice(0, slash), id: key.slice(slash + 1) };
}

/**
 * The source tables that can produce output table `output`, each with the columns its synced `id` may
 * come from: `id`, a column a data query selects `AS id`, or the single key column. Sync streams' queries
 * are matched by the source table's own name.
 */
function sourcesOfOutput(
  rules: LoadedSyncRules,
  tables: readonly SourceTableInfo[],
  output: string
): { table: SourceTableInfo; idColumns: string[] }[] {
  const out: { table: SourceTableInfo; idColumns: string[] }[] = [];
  for (const resolved of tables) {
    if (!rules.hydrated.tableSyncsData(resolved.ref)) continue;
    const table = withRuleColumns(rules, resolved);
    const readable = new Set(table.readColumns ?? table.columns.map((c) => c.name));
    const idColumns = new Set<string>();
    const queries = bucketDefinitions(rules).flatMap((d) =>
      d.dataQueries.filter((q) => q.applies(table.ref))
    );
    const named = queries.filter((q) => q.getOutputName(table.ref.name) === output);
    if (named.length === 0 && table.ref.name !== output) continue;
    for (const q of named) {
      const expr = selectOutputExpressions(q.sql)
        .get('id')
        ?.replace(/^"(.*)"$/, '$1');
      if (expr && readable.has(expr)) idColumns.add(expr);
    }
    if (readable.has('id')) idColumns.add('id');
    if (table.keyColumns.length === 1) idColumns.add(table.keyColumns[0]!);
    out.push({ table, idColumns: [...idColumns] });
  }
  return out;
}

/** `col = ANY(ids)` over each candidate column, typed where the column's type allows (indexes apply). */
function idCondition(table: SourceTableInfo, columns: string[], ids: string[], params: unknown[]): string {
  return columns
    .map((name) => {
      const column = table.columns.find((c) => c.name === name)!;
      return (
        equalityCondition(column, ids, params) ??
        `${pg.escapeIdentifier(name)}::text = ANY($${params.push(ids)}::text[])`
      );
    })
    .join(' OR ');
}

/**
 * What the user should hold for each key, read through `client` (read-only): keys with no row in the user's
 * buckets (deleted, moved out, filtered) are absent from the result.
 */
export async function readRowsByKey(
  client: Pick<pg.Client, 'query'>,
  rules: LoadedSyncRules,
  tables: readonly SourceTableInfo[],
  keys: Iterable<string>,
  bucketIds: ReadonlySet<string>
): Promise<{ rows: Map<string, SyncedRow>; errors: string[] }> {
  const wanted = new Set(keys);
  const idsByOutput = new Map<string, string[]>();
  for (const key of wanted) {
    const { table, id } = splitRowKey(key);
    idsByOutput.set(table, [...(idsByOutput.get(table) ?? []), id]);
  }
  const store = new MemoryExpectedRows();
  const errors: string[] = [];
  for (const [output, ids] of idsByOutput) {
    for (const { table, idColumns } of sourcesOfOutput(rules, tables, output)) {
      if (idColumns.length === 0) continue;
      const params: unknown[] = [];
      const { rows } = await client.query<TextRow>(
        selectFrom(table, idCondition(table, idColumns, ids, params)),
        params
      );
      addDataRows(
        {
          rules,
          table,
          sources: rules.hydrated.getMatchingSources(table.ref).bucketDataSources,
          bucketIds,
          store,
          tag: 0,
          onError: (message) => errors.push(message)
        },
        rows
      );
    }
  }
  store.finish();
  const rows = new Map<string, SyncedRow>();
  for (const row of store.values()) {
    const key = rowKeyOf(row.table, row.id);
    if (wanted.has(key)) rows.set(key, row);
  }
  return { rows, errors };
}
