/**
 * A large table's data scan split into parts across threads. Evaluating rows through the sync rules
 * costs several times what reading them does, so one thread caps the expected state at ~0.2× of a plain
 * scan; partitions scale it with the cores. Every partition reads the coordinating session's exported
 * snapshot, so the expected state stays one consistent snapshot. Each helper spills its rows to a file of
 * its own that the coordinator's store absorbs in order.
 *
 *   coordinator: export snapshot ─┬─ scan part 1 itself ──────────────────┬─ absorb helper files
 *   helper 1:                     ├─ import snapshot, scan part 2 → file ─┤
 *   helper n:                     └─ import snapshot, scan part n → file ─┘
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { isSyncScopeError } from '../../errors/index.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { addDataRows, type DataRowsTarget } from './data-rows.ts';
import { SpilledExpectedRows, spillFilePath } from './expected-rows.ts';
import { scanRows, selectFrom, type TextRow } from './row-scan.ts';
import { exportSnapshot, openSourceSession, type SourceSession, toProbeError } from './source-session.ts';
import type { SourceTableInfo } from './source-tables.ts';

/**
 * A part of a table: pages `[from, to)` (`to` null: to the end, pages added since the plan included),
 * read by a TID range scan; or, for a filtered (pushed-down) query, every `of`-th page from `index`, so
 * the matching rows spread evenly over the parts however they cluster on disk.
 */
export type TablePart = { from: number; to: number | null } | { index: number; of: number };

/** One partition's scan, as it crosses to a helper thread (plain data). */
export interface PartitionScanRequest {
  sourceUrl: string;
  snapshot: string;
  statementTimeoutMs: number;
  rulesYaml: string;
  rulesVersion: number;
  table: SourceTableInfo;
  /** Indexes into the rules' data sources matching the table: the ones the user has buckets of. */
  sourceIndexes: number[];
  bucketIds: string[];
  where: string | null;
  params: unknown[];
  part: TablePart;
  /** Where the helper spills the partition's rows (released, not finished: the coordinator absorbs it). */
  spillFile: string;
  tag: number;
}

export interface PartitionScanResult {
  rowsRead: number;
  rowsKept: number;
  errors: string[];
}

/** Threads that scan partitions beside the coordinating one. */
export interface PartitionHelpers {
  readonly count: number;
  scan(request: PartitionScanRequest): Promise<PartitionScanResult>;
}

/** Below this many (estimated) rows a table is scanned whole: a partition's set-up would cost more. */
export const MIN_PARTITIONED_ROWS = 50_000;

/**
 * A probe's client syncs ~50k operations/s and one thread evaluates ~100k rows/s (bench/): a scan of
 * fewer rows than this many per operation the user syncs ends before the sync does, and helpers would
 * only take CPU from the sync, the probe's critical path (measured: 100k rows, 2 cores, 1.22× → 1.47×).
 */
export const PARTITION_ROWS_PER_SYNCED_OPERATION = 2;

/** The fewest rows a scan must be expected to return to be split, given the user's operations if known. */
export async function partitionThreshold(userOperations?: Promise<number | null> | number | null) {
  const operations = await userOperations;
  return Math.max(MIN_PARTITIONED_ROWS, (operations ?? 0) * PARTITION_ROWS_PER_SYNCED_OPERATION);
}

/**
 * Helper threads worth starting here: one per further core, at most three. A container's CPU quota
 * (cgroup v2 `cpu.max`) counts: Node's availableParallelism sees the host's cores.
 */
export function defaultPartitionHelperCount(): number {
  return Math.max(0, Math.min(3, Math.min(os.availableParallelism(), cpuQuotaCores()) - 1));
}

function cpuQuotaCores(): number {
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    const cores = Number(quota) / Number(period);
    return quota !== 'max' && cores > 0 ? Math.max(1, Math.floor(cores)) : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY; // no cgroup v2 limit here
  }
}

/** The part's condition: a TID range (scanned as such on Postgres ≥ 14), or its pages' remainder. */
function partCondition(part: TablePart): string {
  if ('index' in part) return `((ctid::text::point)[0]::bigint % ${part.of}) = ${part.index}`;
  return [
    `ctid >= '(${part.from},0)'::tid`,
    ...(part.to === null ? [] : [`ctid < '(${part.to},0)'::tid`])
  ].join(' AND ');
}

/** The scan of one part of a table, `where` (the pushed-down filter) applied. */
export function partitionSql(table: SourceTableInfo, where: string | null, part: TablePart): string {
  return selectFrom(table, where ? `(${where}) AND ${partCondition(part)}` : partCondition(part));
}

/**
 * The parts to split a table's scan into, or null to scan it whole: when the query is expected to return
 * fewer rows than `threshold` gives (asked only of scans of MIN_PARTITIONED_ROWS or more), for partitioned
 * parents (their children's pages do not add up), on standbys (which cannot export a snapshot) and before
 * Postgres 14 (no TID range scans). A full
 * scan splits into page ranges; a filtered one interleaves pages.
 */
export async function planPartitions(
  session: SourceSession,
  table: SourceTableInfo,
  parts: number,
  query: { where?: string | null; params?: unknown[]; threshold?: () => Promise<number> } = {}
): Promise<TablePart[] | null> {
  if (parts < 2) return null;
  const where = query.where ?? null;
  // The session reads every value as text (rawTextTypes): numbers and booleans are parsed here.
  const { rows } = await session.client.query<{ eligible: string; pages: string }>(
    // Before Postgres 14 a TID range is a filter, not a scan: every part would read the whole table.
    `SELECT (relkind = 'r' AND NOT pg_is_in_recovery()
             AND current_setting('server_version_num')::int >= 140000)::int AS eligible,
            pg_relation_size(oid) / current_setting('block_size')::int AS pages
     FROM pg_class WHERE oid = $1`,
    [table.oid]
  );
  const info = rows[0];
  const pages = Number(info?.pages);
  if (Number(info?.eligible) !== 1 || pages < parts) return null;
  const estimated = await estimatedRows(session, selectFrom(table, where), query.params ?? []);
  if (estimated < MIN_PARTITIONED_ROWS) return null;
  if (query.threshold && estimated < (await query.threshold())) return null;
  if (where) return Array.from({ length: parts }, (_, index) => ({ index, of: parts }));
  const step = Math.ceil(pages / parts);
  return Array.from({ length: parts }, (_, i) => ({
    from: i * step,
    to: i === parts - 1 ? null : (i + 1) * step
  }));
}

/** The planner's estimate of the rows a query returns (never analysed: from the table's size). */
async function estimatedRows(session: SourceSession, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await session.client.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (FORMAT JSON) ${sql}`,
    params
  );
  const plan = JSON.parse(rows[0]?.['QUERY PLAN'] ?? '[]') as { Plan?: { 'Plan Rows'?: number } }[];
  return plan[0]?.Plan?.['Plan Rows'] ?? 0;
}

/** A helper's side: scans one partition in the exported snapshot into a released spill file. */
export async function scanPartition(
  request: PartitionScanRequest,
  rules: LoadedSyncRules
): Promise<PartitionScanResult> {
  const matching = rules.hydrated.getMatchingSources(request.table.ref).bucketDataSources;
  const sources = request.sourceIndexes.map((i) => matching[i]!);
  const errors: string[] = [];
  const store = SpilledExpectedRows.create(request.spillFile);
  let session: SourceSession | null = null;
  try {
    session = await openSourceSession(request.sourceUrl, {
      statementTimeoutMs: request.statementTimeoutMs,
      snapshot: request.snapshot,
      applicationName: 'syncscope-probe-partition'
    });
    const target = {
      rules,
      table: request.table,
      sources,
      bucketIds: new Set(request.bucketIds),
      store,
      tag: request.tag,
      onError: (message: string) => {
        if (errors.length < 100) errors.push(message);
      }
    };
    let rowsKept = 0;
    const rowsRead = await scanRows(
      session.client,
      partitionSql(request.table, request.where, request.part),
      request.params,
      (batch) => {
        rowsKept += addDataRows(target, batch);
      }
    );
    store.release();
    return { rowsRead, rowsKept, errors };
  } catch (error) {
    store.close();
    // As the coordinator's own reads would: a statement timeout becomes SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT.
    throw toProbeError(error, request.sourceUrl, request.statementTimeoutMs);
  } finally {
    await session?.close();
  }
}

/** A helper's failure the coordinator recovers from by scanning the partition itself. */
export function retryInline(error: unknown): boolean {
  // A statement timeout would only strike again; anything else (no thread, no connection) may not.
  return !(isSyncScopeError(error) && error.code === 'SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT');
}

const snapshots = new WeakMap<SourceSession, Promise<string>>();

/** The session's snapshot, exported once for all its partitioned tables. */
function snapshotOf(session: SourceSession): Promise<string> {
  let snapshot = snapshots.get(session);
  if (!snapshot) {
    snapshot = exportSnapshot(session);
    snapshots.set(session, snapshot);
  }
  return snapshot;
}

export interface PartitionedScan {
  session: SourceSession;
  sourceUrl: string;
  helpers: PartitionHelpers;
  /** The first part is scanned here, the others by the helpers. */
  parts: TablePart[];
  target: DataRowsTarget & { store: SpilledExpectedRows };
  where: string | null;
  params: unknown[];
  /** Called for each batch this thread reads (it evaluates them into the target). */
  onBatch: (batch: TextRow[]) => void;
}

export interface PartitionedScanOutcome {
  /** Rows read in all partitions. */
  rowsRead: number;
  /** Of which the helpers read (this thread's rows went through `onBatch`), and the rows they kept. */
  helperRowsRead: number;
  helperRowsKept: number;
  /** Helpers that failed, whose parts this thread scanned instead (for the state's warnings). */
  helperFailures: string[];
}

/**
 * Scans a table in parts: the first here, the others on the helpers at the same time. A helper that
 * fails for any reason but a statement timeout has its part scanned here instead, so a missing
 * thread or connection costs time, never rows.
 */
export async function scanInPartitions(scan: PartitionedScan): Promise<PartitionedScanOutcome> {
  const { session, target, parts, helpers } = scan;
  const snapshot = await snapshotOf(session);
  const matching = target.rules.hydrated.getMatchingSources(target.table.ref).bucketDataSources;
  const requestFor = (part: TablePart): PartitionScanRequest => ({
    sourceUrl: scan.sourceUrl,
    snapshot,
    statementTimeoutMs: session.statementTimeoutMs,
    rulesYaml: target.rules.yaml,
    rulesVersion: target.rules.version,
    table: target.table,
    sourceIndexes: target.sources.map((s) => matching.indexOf(s)),
    bucketIds: [...target.bucketIds],
    where: scan.where,
    params: scan.params,
    part,
    spillFile: spillFilePath(),
    tag: target.tag
  });
  const requests = parts.slice(1).map(requestFor);
  const running = requests.map((r) => helpers.scan(r));
  const own = scanRows(
    session.client,
    partitionSql(target.table, scan.where, parts[0]!),
    scan.params,
    scan.onBatch
  );
  const [ownOutcome, ...outcomes] = await Promise.allSettled([own, ...running]);
  const total: PartitionedScanOutcome = {
    rowsRead: 0,
    helperRowsRead: 0,
    helperRowsKept: 0,
    helperFailures: []
  };
  try {
    if (ownOutcome!.status === 'rejected') throw ownOutcome!.reason;
    total.rowsRead = ownOutcome!.value;
    for (const [i, outcome] of outcomes.entries()) {
      const request = requests[i]!;
      if (outcome.status === 'rejected' && !retryInline(outcome.reason)) throw outcome.reason;
      if (outcome.status === 'fulfilled') {
        target.store.absorb(request.spillFile);
        total.rowsRead += outcome.value.rowsRead;
        total.helperRowsRead += outcome.value.rowsRead;
        total.helperRowsKept += outcome.value.rowsKept;
        for (const e of outcome.value.errors) target.onError(e);
      } else {
        total.helperFailures.push(
          `a helper thread failed to scan part ${i + 2} of ${target.table.key} (${(outcome.reason as Error).message}); it was scanned in-thread`
        );
        total.rowsRead += await scanRows(
          session.client,
          partitionSql(target.table, scan.where, request.part),
          scan.params,
          scan.onBatch
        );
      }
    }
  } finally {
    for (const r of requests) rmSync(r.spillFile, { force: true });
  }
  return total;
}
