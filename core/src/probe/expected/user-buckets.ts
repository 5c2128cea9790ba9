import {
  BaseJwtPayload,
  type BucketDataSource,
  filterJsonRow,
  type ParameterIndexLookupCreator,
  RequestParameters,
  type ResolvedBucket,
  type ScopedParameterLookup,
  type SqliteJsonRow,
  type SqliteJsonValue,
  SqlParameterQuery
} from '@powersync/service-sync-rules';
import { withRuleColumns } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { parameterIndexEntries } from '../../sync-rules/parameter-index.ts';
import {
  connectionBuckets,
  requestedStreams,
  type StreamSubscription
} from '../../sync-rules/stream-subscriptions.ts';
import { pgRowToSyncRulesRow } from '../../values/pg-values.ts';
import type { ParameterEvidence } from '../probe-types.ts';
import { equalityCondition, replicaIdOf, scanRows, selectFrom, type TextRow } from './row-scan.ts';
import {
  bucketDefinitions,
  bucketParametersOf,
  hydrationStateOf,
  lineOfSql,
  parameterQueryLookupColumn
} from './rule-analysis.ts';
import type { SourceSession } from './source-session.ts';
import { type SourceTableInfo, tablesForPattern } from './source-tables.ts';

/** How one table was read: only the rows a pushed-down filter selects, all of it, or not at all. */
export interface TableScan {
  phase: 'parameters' | 'data';
  table: string;
  mode: 'pushdown' | 'full' | 'skipped';
  /** The pushed-down WHERE (with $n parameters), when mode is pushdown. */
  where?: string;
  rowsRead: number;
  /** Rows that mattered for the user: matching parameter rows, or synced rows. */
  rowsKept: number;
  /** The parts a large table's scan was split into across threads (partitioned-scan.ts), when it was. */
  parts?: number;
}

export interface ProbeProgress {
  phase: string;
  rows: number;
  table?: string;
}

export interface ScanContext {
  session: SourceSession;
  rules: LoadedSyncRules;
  scans: TableScan[];
  errors: string[];
  onProgress?: (p: ProbeProgress) => void;
  /** Rows read so far in all phases, for progress. */
  rowsRead: { parameters: number; data: number };
}

const MAX_ERRORS = 100;

/** Starts the record of one table scan (how it read, how many rows), kept for the report. */
export function recordScan(
  ctx: ScanContext,
  phase: TableScan['phase'],
  table: string,
  where: string | null
): TableScan {
  const scan: TableScan = {
    phase,
    table,
    mode: where ? 'pushdown' : 'full',
    ...(where ? { where } : {}),
    rowsRead: 0,
    rowsKept: 0
  };
  ctx.scans.push(scan);
  return scan;
}

export function pushError(ctx: ScanContext, message: string): void {
  if (ctx.errors.length < MAX_ERRORS) ctx.errors.push(message);
  else if (ctx.errors.length === MAX_ERRORS) ctx.errors.push('… further evaluation errors omitted');
}

/** A source row matched by a parameter query for the user, with the lookup it produced. */
export interface MatchedParameterRow {
  table: string;
  id: string;
  values: SqliteJsonRow;
  lookup: string;
  bucketParameters: Record<string, SqliteJsonValue>[];
}

export interface UserBuckets {
  payload: Record<string, unknown>;
  clientParameters: Record<string, unknown>;
  /** The explicit stream subscriptions the buckets were resolved for; a bucket's `{subscription: i}` indexes them. */
  subscriptions: StreamSubscription[];
  requestParameters: RequestParameters;
  /** Unique by id (inclusion reasons merged, as the service merges them), sorted by id. */
  buckets: ResolvedBucket[];
  evidence: ParameterEvidence[];
  /** Errors the querier reported (e.g. a request value of the wrong shape). */
  querierErrors: string[];
  /** Per parameter query: the lookups the user's querier asked for and the rows that answered them. */
  lookups: Map<
    ParameterIndexLookupCreator,
    { lookups: ScopedParameterLookup[]; rows: MatchedParameterRow[] }
  >;
}

export function requestParametersFor(
  payload: Record<string, unknown>,
  clientParameters: Record<string, unknown>
): RequestParameters {
  return new RequestParameters(new BaseJwtPayload(payload), clientParameters);
}

export function sourceOfBucket(bucket: ResolvedBucket): BucketDataSource {
  return (bucket as unknown as { source: BucketDataSource }).source;
}

/**
 * Reads the parameter rows a parameter query's (or stream subquery's) lookups need and evaluates them into
 * parameter index entries as the service does; `lookups` null keeps every entry (`options.where` may narrow
 * the read). When the query compares one column with its one request value, only rows with the looked-up
 * values are read (`WHERE col = ANY($1)`); otherwise the whole table streams and only matching lookups are kept.
 */
export async function readParameterRows(
  ctx: ScanContext,
  source: ParameterIndexLookupCreator,
  lookups: readonly ScopedParameterLookup[] | null,
  onMatch: (row: MatchedParameterRow, table: SourceTableInfo) => void,
  options: { where?: (table: SourceTableInfo, params: unknown[]) => string | null } = {}
): Promise<void> {
  const { session, rules } = ctx;
  const wanted = lookups ? new Set(lookups.map((l) => l.serializedRepresentation)) : null;
  const sources = [source];
  const lookupColumn = source instanceof SqlParameterQuery ? parameterQueryLookupColumn(source) : null;
  for (const pattern of source.getSourceTables()) {
    for (const resolved of await tablesForPattern(session.client, pattern)) {
      const table = withRuleColumns(rules, resolved);
      const params: unknown[] = [];
      let where: string | null = options.where ? options.where(table, params) : null;
      if (!where && lookups && lookupColumn) {
        const column = table.columns.find((c) => c.name === lookupColumn.column);
        if (column) {
          where = equalityCondition(
            column,
            lookups.map((l) => l.values[2] ?? null),
            params
          );
        }
      }
      const scan = recordScan(ctx, 'parameters', table.key, where);
      scan.rowsRead = await scanRows(session.client, selectFrom(table, where), params, (rows: TextRow[]) => {
        for (const raw of rows) {
          const record = rules.hydrated.applyRowContext<never>(pgRowToSyncRulesRow(table.columns, raw));
          const evaluated = parameterIndexEntries(rules.hydrated, table.ref, record, sources);
          for (const e of evaluated.errors) pushError(ctx, `${table.key} ${replicaIdOf(table, raw)}: ${e}`);
          for (const { lookup, bucketParameters } of evaluated.entries) {
            if (wanted && !wanted.has(lookup)) continue;
            scan.rowsKept++;
            onMatch(
              {
                table: table.key,
                id: replicaIdOf(table, raw),
                values: filterJsonRow(record),
                lookup,
                bucketParameters
              },
              table
            );
          }
        }
        ctx.rowsRead.parameters += rows.length;
        ctx.onProgress?.({ phase: 'parameters', rows: ctx.rowsRead.parameters, table: table.key });
      });
    }
  }
}

/**
 * The user's buckets, resolved exactly as the service resolves them for a connection that subscribes to
 * the default streams and to `subscriptions` (static buckets plus table-backed lookups), with the
 * evidence for each: which parameter rows produced which bucket parameters.
 */
export async function resolveUserBuckets(
  ctx: ScanContext,
  payload: Record<string, unknown>,
  clientParameters: Record<string, unknown>,
  subscriptions: StreamSubscription[] = []
): Promise<UserBuckets> {
  const { rules } = ctx;
  const requestParameters = requestParametersFor(payload, clientParameters);
  const { querier, errors } = rules.hydrated.getBucketParameterQuerier({
    globalParameters: requestParameters,
    hasDefaultStreams: true,
    streams: requestedStreams(subscriptions)
  });
  const lookupsBySource: UserBuckets['lookups'] = new Map();
  const dynamic = querier.hasDynamicBuckets
    ? await querier.queryDynamicBucketDescriptions({
        getParameterSets: async (lookups) => {
          const groups = new Map<ParameterIndexLookupCreator, ScopedParameterLookup[]>();
          for (const l of lookups) groups.set(l.source, [...(groups.get(l.source) ?? []), l]);
          const rowsByLookup = new Map<string, SqliteJsonRow[]>();
          for (const [source, group] of groups) {
            const entry = lookupsBySource.get(source) ?? { lookups: [], rows: [] };
            lookupsBySource.set(source, entry);
            entry.lookups.push(...group);
            await readParameterRows(ctx, source, group, (row) => {
              entry.rows.push(row);
              rowsByLookup.set(row.lookup, [
                ...(rowsByLookup.get(row.lookup) ?? []),
                ...row.bucketParameters
              ]);
            });
          }
          return lookups.map((lookup) => ({
            lookup,
            rows: rowsByLookup.get(lookup.serializedRepresentation) ?? []
          }));
        }
      })
    : [];
  const buckets = connectionBuckets(querier.staticBuckets, dynamic).sort((a, b) =>
    a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0
  );
  return {
    payload,
    clientParameters,
    subscriptions,
    requestParameters,
    buckets,
    evidence: parameterEvidence(rules, requestParameters, lookupsBySource),
    querierErrors: errors.map(
      (e) =>
        `${e.descriptor}${e.subscription ? ` (subscription ${e.subscription.opaque_id})` : ''}: ${e.message}`
    ),
    lookups: lookupsBySource
  };
}

function parameterEvidence(
  rules: LoadedSyncRules,
  requestParameters: RequestParameters,
  lookups: UserBuckets['lookups']
): ParameterEvidence[] {
  const state = hydrationStateOf(rules);
  const out: ParameterEvidence[] = [];
  const explained = new Set<ParameterIndexLookupCreator>();
  for (const definition of bucketDefinitions(rules)) {
    const dataSource = definition.dataSources[0];
    if (!dataSource) continue;
    const scope = state.getBucketSourceScope(dataSource);
    for (const q of [...definition.globalParameterQueries, ...definition.parameterQueries]) {
      const base = {
        definition: definition.name,
        query: q.sql,
        line: lineOfSql(rules.yaml, definition.name, q.sql)
      };
      if (!(q instanceof SqlParameterQuery)) {
        // Static and table-valued (json_each) queries: computed from the request alone.
        const produced = q
          .getStaticBucketDescriptions(requestParameters, scope)
          .map((b) => bucketParametersOf(b.bucket, dataSource));
        out.push({ ...base, matchedRows: [], produced });
      } else {
        explained.add(q);
        const entry = lookups.get(q);
        const matched = entry?.rows ?? [];
        const produced = q
          .resolveBucketDescriptions(
            matched.flatMap((r) => r.bucketParameters),
            requestParameters,
            scope
          )
          .map((b) => bucketParametersOf(b.bucket, dataSource));
        out.push({
          ...base,
          matchedRows: matched.map((r) => ({ table: r.table, id: r.id, values: r.values })),
          produced
        });
      }
    }
  }
  // Sync streams: no per-query structure, but still the rows that answered each lookup.
  for (const [source, entry] of lookups) {
    if (explained.has(source)) continue;
    out.push({
      definition: source.sourceId.lookupName,
      query: '',
      line: 0,
      matchedRows: entry.rows.map((r) => ({ table: r.table, id: r.id, values: r.values })),
      produced: entry.rows.flatMap((r) => r.bucketParameters)
    });
  }
  return out;
}
