import type { BucketDataSource, ResolvedBucket } from '@powersync/service-sync-rules';
import { withRuleColumns } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import type { ExpectedBucket, ExpectedState } from '../probe-types.ts';
import { addDataRows, type DataRowsTarget } from './data-rows.ts';
import { type ExpectedRowStore, MemoryExpectedRows, SpilledExpectedRows } from './expected-rows.ts';
import {
  type PartitionHelpers,
  partitionThreshold,
  planPartitions,
  scanInPartitions
} from './partitioned-scan.ts';
import { equalityCondition, scanRows, selectFrom, type TextRow } from './row-scan.ts';
import { bucketParametersOf, dataQueryPushdown, definitionOfSource } from './rule-analysis.ts';
import { type SourceSessionPool, withSourceSession } from './source-session.ts';
import { resolveRuleTables, type SourceTableInfo } from './source-tables.ts';
import {
  type ProbeProgress,
  pushError,
  recordScan,
  resolveUserBuckets,
  type ScanContext,
  sourceOfBucket,
  type TableScan
} from './user-buckets.ts';

export type { ProbeProgress, TableScan } from './user-buckets.ts';

/** The service's limit on buckets per connection (PSYNC_S2305): above it the connection fails. */
export const MAX_BUCKETS_PER_CONNECTION = 1000;

export interface ComputeExpectedStateOptions {
  sourceUrl: string;
  rules: LoadedSyncRules;
  userId: string;
  /** Extra JWT claims; `sub` is the user id. */
  claims?: Record<string, unknown>;
  clientParameters?: Record<string, unknown>;
  /** Explicit sync-stream subscriptions of the user's client, besides the default streams. */
  subscriptions?: StreamSubscription[];
  statementTimeoutMs?: number;
  /** Kept connections to take the snapshot session from (many light probes in one process). */
  sessionPool?: SourceSessionPool;
  onProgress?: (p: ProbeProgress) => void;
  /** Where the rows go: in memory by default; the probe spills them to disk (SpilledExpectedRows). */
  rows?: ExpectedRowStore;
  /** Threads that scan parts of large tables beside this one (spilled stores only). */
  partitionHelpers?: PartitionHelpers;
  /**
   * The operations the user's sync downloads, once known (a probe's first checkpoint): a table is split
   * only if its scan would outlast that sync (partitionThreshold).
   */
  userOperations?: Promise<number | null> | number | null;
}

export interface ComputedExpectedState extends ExpectedState {
  /** More buckets than the service allows one connection: the real service refuses this user's sync. */
  overBucketLimit: boolean;
  bucketLimit: number;
  /** Rows the rules could not evaluate and querier errors, as the service would log them. */
  evaluationErrors: string[];
  /** Same table/id produced with different JSON by two queries (the client keeps one of them). */
  warnings: string[];
  /** How each table was read. */
  scans: TableScan[];
}

/**
 * What `userId` should hold, per the source database and the rules, read in one consistent read-only
 * snapshot: the buckets the service would give the connection and every row in them, with its JSON and
 * PUT checksum exactly as the service would send it.
 */
export async function computeExpectedState(
  options: ComputeExpectedStateOptions
): Promise<ComputedExpectedState> {
  const payload = { ...(options.claims ?? {}), sub: options.userId };
  const clientParameters = options.clientParameters ?? {};
  const { rules } = options;
  return withSourceSession(
    options.sourceUrl,
    { statementTimeoutMs: options.statementTimeoutMs, pool: options.sessionPool },
    async (session) => {
      const ctx: ScanContext = {
        session,
        rules,
        scans: [],
        errors: [],
        onProgress: options.onProgress,
        rowsRead: { parameters: 0, data: 0 }
      };
      const tables = await resolveRuleTables(session.client, rules.hydrated.getSourceTables(), rules.yaml);
      const user = await resolveUserBuckets(ctx, payload, clientParameters, options.subscriptions);
      const rows = await readUserRows(ctx, tables, user.buckets, options.rows ?? new MemoryExpectedRows(), {
        sourceUrl: options.sourceUrl,
        userOperations: options.userOperations,
        helpers: options.partitionHelpers
      });
      const buckets: ExpectedBucket[] = user.buckets.map((b) => ({
        bucket: b.bucket,
        definition: b.definition,
        parameters: bucketParametersOf(b.bucket, sourceOfBucket(b)),
        priority: b.priority
      }));
      options.onProgress?.({ phase: 'done', rows: ctx.rowsRead.parameters + ctx.rowsRead.data });
      return {
        userId: options.userId,
        claims: payload,
        buckets,
        rows: rows.rows,
        parameterEvidence: user.evidence,
        snapshotTakenAt: session.snapshotTakenAt,
        overBucketLimit: buckets.length > MAX_BUCKETS_PER_CONNECTION,
        bucketLimit: MAX_BUCKETS_PER_CONNECTION,
        evaluationErrors: [...user.querierErrors, ...ctx.errors],
        warnings: rows.warnings,
        scans: ctx.scans
      };
    }
  );
}

/**
 * The WHERE that reads only rows that can be in one of the user's buckets, or null to read the whole
 * table: an OR over the data queries reading the table, each an AND of `column = ANY(user's values)` for
 * its `column = bucket.param` terms. Any query without such terms (or a sync stream) reads everything.
 */
function dataPushdown(
  ctx: ScanContext,
  table: SourceTableInfo,
  sources: BucketDataSource[],
  bySource: Map<BucketDataSource, ResolvedBucket[]>,
  params: unknown[]
): string | null {
  const alternatives: string[] = [];
  for (const source of sources) {
    const definition = definitionOfSource(ctx.rules, source);
    if (!definition) return null;
    const bucketParams = (bySource.get(source) ?? []).map((b) => bucketParametersOf(b.bucket, source));
    for (const q of definition.dataQueries) {
      if (!q.applies(table.ref)) continue;
      const terms = dataQueryPushdown(q);
      if (!terms) return null;
      const conditions: string[] = [];
      for (const term of terms) {
        const column = table.columns.find((c) => c.name === term.column);
        if (!column) return null;
        const condition = equalityCondition(
          column,
          bucketParams.map((p) => p[term.parameter] ?? null),
          params
        );
        if (!condition) return null;
        conditions.push(condition);
      }
      alternatives.push(conditions.join(' AND '));
    }
  }
  if (alternatives.length === 0) return null;
  return alternatives.length === 1 ? alternatives[0]! : alternatives.map((a) => `(${a})`).join(' OR ');
}

async function readUserRows(
  ctx: ScanContext,
  tables: SourceTableInfo[],
  buckets: ResolvedBucket[],
  rows: ExpectedRowStore,
  partitions: Pick<ComputeExpectedStateOptions, 'sourceUrl' | 'userOperations'> & {
    helpers?: PartitionHelpers;
  }
): Promise<{ rows: ExpectedRowStore; warnings: string[] }> {
  const { rules, session } = ctx;
  const bucketIds = new Set(buckets.map((b) => b.bucket));
  const bySource = new Map<BucketDataSource, ResolvedBucket[]>();
  for (const b of buckets) {
    const source = sourceOfBucket(b);
    bySource.set(source, [...(bySource.get(source) ?? []), b]);
  }
  const warnings: string[] = [];
  for (const resolved of tables) {
    if (!rules.hydrated.tableSyncsData(resolved.ref)) continue;
    const table = withRuleColumns(rules, resolved);
    // Only the definitions the user has a bucket of can put a row in one of the user's buckets.
    const sources = rules.hydrated
      .getMatchingSources(table.ref)
      .bucketDataSources.filter((s) => bySource.has(s));
    if (sources.length === 0) {
      ctx.scans.push({ phase: 'data', table: table.key, mode: 'skipped', rowsRead: 0, rowsKept: 0 });
      continue;
    }
    const params: unknown[] = [];
    const where = dataPushdown(ctx, table, sources, bySource, params);
    if (!where) params.length = 0; // a query that cannot push down after others did: read everything
    const scan = recordScan(ctx, 'data', table.key, where);
    const target: DataRowsTarget = {
      rules,
      table,
      sources,
      bucketIds,
      store: rows,
      tag: ctx.scans.length - 1,
      onError: (message) => pushError(ctx, message)
    };
    const onBatch = (batch: TextRow[]) => {
      scan.rowsKept += addDataRows(target, batch);
      ctx.rowsRead.data += batch.length;
      ctx.onProgress?.({ phase: 'data', rows: ctx.rowsRead.data, table: table.key });
    };
    const helpers = rows instanceof SpilledExpectedRows ? partitions.helpers : undefined;
    const parts = helpers
      ? await planPartitions(session, table, helpers.count + 1, {
          where,
          params,
          threshold: () => partitionThreshold(partitions.userOperations)
        })
      : null;
    if (helpers && parts) {
      const done = await scanInPartitions({
        session,
        sourceUrl: partitions.sourceUrl,
        helpers,
        parts,
        target: { ...target, store: rows as SpilledExpectedRows },
        where,
        params,
        onBatch
      });
      scan.parts = parts.length;
      scan.rowsRead = done.rowsRead;
      scan.rowsKept += done.helperRowsKept;
      warnings.push(...done.helperFailures);
      ctx.rowsRead.data += done.helperRowsRead;
      ctx.onProgress?.({ phase: 'data', rows: ctx.rowsRead.data, table: table.key });
    } else {
      scan.rowsRead = await scanRows(session.client, selectFrom(table, where), params, onBatch);
    }
  }
  // Copies of one row (several buckets, or several queries): one row, counted for the scan that met it first.
  for (const conflict of rows.finish()) {
    for (const tag of conflict.laterTags) ctx.scans[tag]!.rowsKept--;
    const { table, id, buckets: held } = conflict.stored;
    if (conflict.jsonDiffers && warnings.length < 100) {
      warnings.push(
        `${table}/${id} is produced with different data in ${held.join(' and ')}; the expected state keeps the first`
      );
    }
  }
  return { rows, warnings };
}
