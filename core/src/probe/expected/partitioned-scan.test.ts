import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { beforeAll, describe, expect, it } from 'vitest';
import { SyncScopeError } from '../../errors/index.ts';
import { type ComputedExpectedState, computeExpectedState } from './compute-expected-state.ts';
import { SpilledExpectedRows, spillDirectory, spillFilePath } from './expected-rows.ts';
import { ExpectedStateWorker, PartitionHelperThreads } from './expected-state-worker.ts';
import {
  MIN_PARTITIONED_ROWS,
  type PartitionHelpers,
  type PartitionScanRequest,
  partitionThreshold,
  planPartitions,
  retryInline,
  scanPartition
} from './partitioned-scan.ts';
import { exportSnapshot, openSourceSession } from './source-session.ts';
import { resolveRuleTables } from './source-tables.ts';

// Two rules read the table: some rows reach two buckets (with different columns).
const rules = loadSyncRules(`bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM memberships WHERE user_id = request.user_id()
    data:
      - SELECT id, title, amount FROM records WHERE lower(workspace_id) = bucket.workspace_id
  flagged:
    data:
      - SELECT id, title FROM records WHERE flagged = true
`);
// A quarter of the rows are someone else's: the user's three quarters are enough to split on their own.
const ROWS = MIN_PARTITIONED_ROWS + 30_000;

/** Scans partitions on this thread (the helper's own code, without the thread around it); counts calls. */
class InThreadHelpers implements PartitionHelpers {
  readonly count = 2;
  calls = 0;
  constructor(
    private readonly fail?: (request: PartitionScanRequest) => Error | null,
    private readonly rulesOfRequest = rules
  ) {}
  scan(request: PartitionScanRequest) {
    this.calls++;
    const failure = this.fail?.(request);
    return failure ? Promise.reject(failure) : scanPartition(request, this.rulesOfRequest);
  }
}

/** The scans as one thread reads them: how many parts a scan was split into aside. */
const scansOf = (state: ComputedExpectedState) => state.scans.map(({ parts: _parts, ...scan }) => scan);
const partsOf = (state: ComputedExpectedState) => state.scans.find((s) => s.phase === 'data')?.parts;

async function rowsOf(state: ComputedExpectedState) {
  const rows = [...state.rows.values()];
  state.rows.close();
  return rows;
}

describe('a large table scanned in partitions', () => {
  let url: string;
  let whole: Awaited<ReturnType<typeof rowsOf>>;
  let wholeState: ComputedExpectedState;
  const compute = (partitionHelpers?: PartitionHelpers) =>
    computeExpectedState({
      sourceUrl: url,
      rules,
      userId: 'u-1',
      rows: SpilledExpectedRows.create(),
      partitionHelpers
    });

  beforeAll(async () => {
    url = await createTestDatabase('probe_partitioned_scan');
    await execSql(
      url,
      `CREATE TABLE memberships(id text primary key, user_id text, workspace_id text);
       INSERT INTO memberships VALUES ('m1', 'u-1', 'ws-1'), ('m2', 'u-2', 'ws-2'), ('m3', 'u-3', 'WS-1');
       CREATE TABLE records(id text primary key, workspace_id text, title text, amount numeric, flagged boolean);
       INSERT INTO records SELECT 'r-' || i, CASE WHEN i % 4 = 0 THEN 'ws-2' ELSE 'WS-1' END, 'Record ' || i,
         i * 1.5, i % 999 = 0 FROM generate_series(1, ${ROWS}) i;
       CREATE INDEX ON records(workspace_id);
       ANALYZE records;`
    );
    wholeState = await compute();
    whole = await rowsOf(wholeState);
  });

  it('splits only a table large enough, by page ranges that cover it to the end', async () => {
    const session = await openSourceSession(url);
    try {
      const tables = await resolveRuleTables(session.client, rules.hydrated.getSourceTables(), rules.yaml);
      const records = tables.find((t) => t.key === 'public.records')!;
      const memberships = tables.find((t) => t.key === 'public.memberships')!;
      const ranges = (await planPartitions(session, records, 3)) as { from: number; to: number | null }[];
      expect(ranges.map((r) => r.from)).toEqual([0, ranges[0]!.to, ranges[1]!.to]);
      expect(ranges[2]!.to).toBeNull(); // pages added after the plan are read too
      // A filtered scan interleaves pages (its rows may cluster); one that selects a few rows is not split.
      expect(await planPartitions(session, records, 2, { where: "workspace_id = 'WS-1'" })).toEqual([
        { index: 0, of: 2 },
        { index: 1, of: 2 }
      ]);
      expect(await planPartitions(session, records, 2, { where: "id = 'r-1'" })).toBeNull();
      // Not when the user's sync would take longer anyway: the helpers would only slow it down.
      const syncing = (operations: number) => ({ threshold: () => partitionThreshold(operations) });
      expect(await planPartitions(session, records, 2, syncing(ROWS))).toBeNull();
      expect(await planPartitions(session, records, 2, syncing(1_000))).toHaveLength(2);
      expect(await planPartitions(session, memberships, 3)).toBeNull();
      expect(await planPartitions(session, records, 1)).toBeNull();
    } finally {
      await session.close();
    }
  });

  it('gives exactly what one scan gives: the same rows, JSON, checksums, buckets and counts', async () => {
    expect(whole.length).toBe(ROWS - Math.floor(ROWS / 4) + Math.floor(ROWS / 3996));
    expect(wholeState.warnings.length).toBeGreaterThan(0); // rows in both buckets, with different JSON
    const helpers = new InThreadHelpers();
    const state = await compute(helpers);
    expect(helpers.calls).toBe(2);
    expect(partsOf(state)).toBe(3);
    expect(partsOf(wholeState)).toBeUndefined();
    expect(scansOf(state)).toEqual(wholeState.scans);
    expect(state.warnings).toEqual(wholeState.warnings);
    expect(await rowsOf(state)).toEqual(whole);
  });

  it('splits a pushed-down scan too, with the same result', async () => {
    const pushdown = loadSyncRules(`bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM memberships WHERE user_id = request.user_id()
    data:
      - SELECT id, title FROM records WHERE workspace_id = bucket.workspace_id
`);
    const computeWith = (partitionHelpers?: PartitionHelpers) =>
      computeExpectedState({
        sourceUrl: url,
        rules: pushdown,
        userId: 'u-3',
        rows: SpilledExpectedRows.create(),
        partitionHelpers
      });
    const one = await computeWith();
    const helpers = new InThreadHelpers(undefined, pushdown);
    const split = await computeWith(helpers);
    expect(helpers.calls).toBe(2);
    expect(split.scans.find((s) => s.phase === 'data')).toMatchObject({
      mode: 'pushdown',
      rowsKept: ROWS - ROWS / 4
    });
    expect(scansOf(split)).toEqual(one.scans);
    expect(await rowsOf(split)).toEqual(await rowsOf(one));
  });

  it('gives the same on real helper threads', async () => {
    const threads = new PartitionHelperThreads(2);
    try {
      const state = await compute(threads);
      expect(scansOf(state)).toEqual(wholeState.scans);
      expect(await rowsOf(state)).toEqual(whole);
    } finally {
      await threads.close();
    }
  });

  it("splits on the agent's kept thread only when the scan would outlast the user's sync", async () => {
    const worker = new ExpectedStateWorker({ partitionHelpers: 1 });
    const later = (operations: number) => new Promise<number>((r) => setTimeout(() => r(operations), 50));
    try {
      const small = await worker.compute({
        sourceUrl: url,
        rules,
        userId: 'u-1',
        userOperations: later(1_000)
      });
      const large = await worker.compute({
        sourceUrl: url,
        rules,
        userId: 'u-1',
        userOperations: later(ROWS)
      });
      expect(partsOf(small)).toBe(2);
      expect(partsOf(large)).toBeUndefined();
      for (const state of [small, large]) expect(await rowsOf(state)).toEqual(whole);
      // The threads spilled into this process's folder (removed at exit), not into folders of their own.
      const folders = readdirSync(os.tmpdir()).filter((n) =>
        n.startsWith(`syncscope-expected-${process.pid}-`)
      );
      expect(folders.map((n) => path.join(os.tmpdir(), n))).toEqual([spillDirectory()]);
      expect(readdirSync(spillDirectory())).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it('scans a failed helper’s partition itself, and loses no row', async () => {
    const helpers = new InThreadHelpers((r) =>
      'to' in r.part && r.part.to === null ? new Error('thread stopped') : null
    );
    const state = await compute(helpers);
    expect(scansOf(state)).toEqual(wholeState.scans);
    expect(state.warnings).toEqual([
      'a helper thread failed to scan part 3 of public.records (thread stopped); it was scanned in-thread',
      ...wholeState.warnings
    ]);
    expect(await rowsOf(state)).toEqual(whole);
  });

  it('fails with the statement timeout a helper met rather than scanning again', async () => {
    const timeout = new SyncScopeError('SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT', 'took too long');
    const error = await compute(new InThreadHelpers(() => timeout)).catch((e: unknown) => e);
    expect(error).toBe(timeout);
  });

  it('reports a statement timeout in a partition as the probe’s timeout error, so it is not scanned again', async () => {
    const session = await openSourceSession(url);
    try {
      const tables = await resolveRuleTables(session.client, rules.hydrated.getSourceTables(), rules.yaml);
      const records = tables.find((t) => t.key === 'public.records')!;
      const slow: PartitionScanRequest = {
        sourceUrl: url,
        snapshot: await exportSnapshot(session),
        statementTimeoutMs: 100,
        rulesYaml: rules.yaml,
        rulesVersion: rules.version,
        table: records,
        sourceIndexes: [0],
        bucketIds: [],
        where: '(SELECT true FROM pg_sleep(1))',
        params: [],
        part: { from: 0, to: null },
        spillFile: spillFilePath(),
        tag: 0
      };
      const error = await scanPartition(slow, rules).catch((e: unknown) => e);
      expect((error as SyncScopeError).code).toBe('SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT');
      expect(retryInline(error)).toBe(false);
    } finally {
      await session.close();
    }
  });

  it("reads the coordinator's snapshot, not rows committed since", async () => {
    const session = await openSourceSession(url);
    try {
      const snapshot = await exportSnapshot(session);
      await execSql(
        url,
        "UPDATE records SET title = 'changed' WHERE id = 'r-1'; DELETE FROM records WHERE id = 'r-2'"
      );
      const tables = await resolveRuleTables(session.client, rules.hydrated.getSourceTables(), rules.yaml);
      const records = tables.find((t) => t.key === 'public.records')!;
      const matching = rules.hydrated.getMatchingSources(records.ref).bucketDataSources;
      const request: PartitionScanRequest = {
        sourceUrl: url,
        snapshot,
        statementTimeoutMs: 10_000,
        rulesYaml: rules.yaml,
        rulesVersion: rules.version,
        table: records,
        sourceIndexes: matching.map((_, i) => i),
        bucketIds: ['1#by_workspace["ws-1"]'],
        where: "id IN ('r-1', 'r-2')",
        params: [],
        part: { from: 0, to: null },
        spillFile: spillFilePath(),
        tag: 0
      };
      const result = await scanPartition(request, rules);
      expect(result).toMatchObject({ rowsRead: 2, rowsKept: 2, errors: [] });
      const store = SpilledExpectedRows.create();
      store.absorb(request.spillFile);
      const seen = [...store.values()].map((r) => JSON.parse(r.json).title);
      store.close();
      expect(seen).toEqual(['Record 1', 'Record 2']);
    } finally {
      await session.close();
      await execSql(
        url,
        "UPDATE records SET title = 'Record 1' WHERE id = 'r-1'; INSERT INTO records VALUES ('r-2', 'WS-1', 'Record 2', 3, false)"
      );
    }
  });
});
