/**
 * A probe: a function with a deadline that returns a verdict, never throws for a failed check.
 *
 *   mint ─▶ schema ─┬▶ sync (real client as the user) ───────────────────┬─▶ diff (merge of key-ordered pages)
 *                   └▶ expected (source snapshot + rules, rows spilled to disk) ┘
 *        ─▶ settle (re-check differences: lag clears, faults persist) ─▶ report
 *   write-checkpoint echo: from the end of the sync, beside the diff and the settle window
 */

import pg from 'pg';
import { isSyncScopeError } from '../errors/index.ts';
import type { Logger } from '../logging/logger.ts';
import { findTableReferences, loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { assertSubscribableStreams, type StreamSubscription } from '../sync-rules/stream-subscriptions.ts';
import { DIFF_DEFAULTS, diffStates, type StateDiff } from './diff/diff-states.ts';
import {
  type DiagnosisContext,
  explainBucketDifference,
  explainRowDifference
} from './diff/explain-differences.ts';
import { compareRowKeys } from './diff/row-key-order.ts';
import { computeExpectedState } from './expected/compute-expected-state.ts';
import { SpilledExpectedRows } from './expected/expected-rows.ts';
import {
  ExpectedStateWorker,
  ExpectedStateWorkerUnavailable,
  PartitionHelperThreads,
  type SpilledExpectedState
} from './expected/expected-state-worker.ts';
import { defaultPartitionHelperCount } from './expected/partitioned-scan.ts';
import {
  PROBE_REPORT_VERSION,
  type ProbeReport,
  type ProbeTarget,
  type RowDifference,
  type SyncOutcome
} from './probe-types.ts';
import { deriveClientSchema } from './sync/derive-client-schema.ts';
import { type CheckpointLine, type SyncAsUserResult, syncAsUser } from './sync/sync-as-user.ts';
import { checkWriteCheckpointEcho } from './sync/write-checkpoint-echo.ts';
import {
  DEFAULT_PROBE_TOKEN_TTL_SECONDS,
  type MintedProbeToken,
  mintAuditedProbeToken,
  type ProbeTokenAuthorisation
} from './tokens/mint-probe-token.ts';

export const PROBE_DEFAULTS = {
  /**
   * From this many operations in the user's first checkpoint, a probe without a kept expected-state
   * thread starts one of its own: its ~0.5 s start is then shorter than the sync it runs beside.
   */
  ownThreadFromOperations: 30_000,
  deadlineMs: 120_000,
  settleMs: 5_000,
  writeCheckpointWaitMs: 5_000
} as const;

export interface RunProbeOptions {
  claims?: Record<string, unknown>;
  /**
   * Sync streams the probe's client subscribes to, as the user's app does with
   * `db.syncStream(name, parameters).subscribe()`; default streams are always included.
   */
  subscriptions?: StreamSubscription[];
  deadlineMs?: number;
  settleMs?: number;
  logger: Logger;
  onPhase?: (phase: string) => void;
  /** The client's download progress during the sync phase. */
  onSyncProgress?: (ops: { done: number; total: number | null }) => void;
  /** Row differences listed in full in the report; the rest are counted (default 1,000). */
  maxDifferences?: number;
  /**
   * Computes the expected state on this kept worker thread (long-lived callers: the agent), leaving the
   * main thread to the client's sync. Without one, in-thread (one-shot callers: the CLI).
   */
  expectedStateWorker?: ExpectedStateWorker;
  /** See PROBE_DEFAULTS.ownThreadFromOperations. */
  ownThreadFromOperations?: number;
  /**
   * Helper threads a probe without a kept thread may start to scan large tables in partitions; by
   * default one per further core, at most three (a kept thread has its own setting).
   */
  partitionHelpers?: number;
  /** Who probes and why: every token the probe mints (refreshes too) is audited with it first. */
  authorisation: ProbeTokenAuthorisation;
}

/** The operations a checkpoint holds for the user: what the client downloads to sync. */
const operationsOf = (checkpoint: CheckpointLine) => checkpoint.buckets.reduce((n, b) => n + b.count, 0);

class PhaseClock {
  readonly phases: Record<string, number> = {};
  constructor(private readonly onPhase?: (phase: string) => void) {}
  async run<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    this.onPhase?.(phase);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.phases[phase] = Math.round(performance.now() - started);
    }
  }
}

async function unpublishedTables(sourceUrl: string, tables: string[]): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: sourceUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'powersync' AND tablename = ANY($1)",
      [tables]
    );
    const published = new Set(rows.map((r) => r.tablename));
    return new Set(tables.filter((t) => !published.has(t)));
  } finally {
    await client.end();
  }
}

function syncFailureSummary(outcome: SyncOutcome): string {
  switch (outcome.kind) {
    case 'auth-rejected':
      return `the sync service refused the probe token (HTTP ${outcome.httpStatus} ${outcome.code ?? ''}: ${outcome.message}). Check that the signing key and kid of the target match a key the service trusts (the agent publishes its public half at /.well-known/jwks.json for client_auth.jwks_uri), and that the audience is in client_auth.audience.`;
    case 'unreachable':
      return `the sync service is unreachable: ${outcome.message}`;
    case 'checksum-failure-loop':
      return `the client is stuck in a checksum-failure loop (${outcome.failures} failures) on ${outcome.buckets.join(', ')}: the service's bucket checksums do not match the operations it sends (a service fault; the client never reaches hasSynced).`;
    case 'no-progress':
      return `the client made no sync progress for ${outcome.seconds} s and never reached hasSynced.`;
    case 'token-expiring':
      return 'the probe token was already expired when the service saw it: check the clock of this machine against the service.';
    case 'write-checkpoint-not-echoed':
      return `the service never echoed a write checkpoint within ${outcome.seconds} s: clients with local writes stay pending forever.`;
    default:
      return 'synced';
  }
}

export async function runProbe(
  target: ProbeTarget,
  userId: string,
  options: RunProbeOptions
): Promise<ProbeReport> {
  const startedAt = new Date();
  const clock = new PhaseClock(options.onPhase);
  const settleMs = options.settleMs ?? PROBE_DEFAULTS.settleMs;
  const subscriptions = options.subscriptions ?? [];
  const warnings: string[] = [];
  let lastToken: MintedProbeToken | null = null;
  // One token serves the whole probe (preflight, client, write checkpoint); a new one only near expiry
  // (its last minute, or last third for a target whose tokens live less than three minutes).
  const ttlSeconds = target.probeTokenTtlSeconds ?? DEFAULT_PROBE_TOKEN_TTL_SECONDS;
  const refreshMarginMs = Math.min(60_000, (ttlSeconds * 1000) / 3);
  const mint = async () => {
    const current = lastToken as MintedProbeToken | null;
    if (current && current.expiresAt.getTime() - Date.now() > refreshMarginMs) return current.token;
    const minted = await mintAuditedProbeToken({
      ...options.authorisation,
      target,
      userId,
      claims: options.claims,
      purpose: 'read',
      subscriptions,
      ttlSeconds
    });
    lastToken = minted;
    options.logger.info(
      { kid: minted.kid, jti: minted.jti, audience: minted.audience, expiresAt: minted.expiresAt },
      'probe token minted'
    );
    return minted.token;
  };
  const report = (partial: Partial<ProbeReport> & Pick<ProbeReport, 'verdict' | 'summary'>): ProbeReport => ({
    version: PROBE_REPORT_VERSION,
    target: target.name,
    userId,
    subscriptions,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    phases: clock.phases,
    token: lastToken
      ? {
          kid: lastToken.kid,
          jti: lastToken.jti,
          expiresAt: lastToken.expiresAt.toISOString(),
          audience: lastToken.audience
        }
      : { kid: target.signing.kid, jti: '', expiresAt: '', audience: target.audience },
    sync: { kind: 'no-progress', seconds: 0 },
    buckets: { expected: [], actual: [], differences: [], overLimit: false },
    rows: { expected: 0, actual: 0, perTable: {}, differences: [] },
    checksums: { bucketMismatches: [], rowMismatches: 0 },
    warnings,
    ...partial
  });

  let session: SyncAsUserResult | null = null;
  let syncing: Promise<SyncAsUserResult> | null = null;
  let expecting: Promise<SpilledExpectedState> | null = null;
  // The in-thread store, closed as soon as the probe ends: its computation then stops at the next row.
  let inThreadRows: SpilledExpectedRows | null = null;
  const echoCancel = new AbortController();
  try {
    const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
    // Before any token is minted: a misspelt stream would otherwise be ignored by the service.
    assertSubscribableStreams(rules.hydrated, subscriptions);
    await clock.run('mint', mint);
    // The schema is derived while the sync's preflight request runs.
    const schema = clock.run('schema', async () => {
      const client = new pg.Client({ connectionString: target.sourceUrl });
      await client.connect();
      try {
        return await deriveClientSchema(client, rules.config);
      } finally {
        await client.end();
      }
    });
    // The write-checkpoint echo is a round trip of its own: once the service has accepted the token, it
    // runs beside the sync, the diff and the settle window, claiming the preflight's checkpoint so the
    // service sends it checkpoints only.
    let echoing: Promise<{ ok: boolean; waitedSeconds: number }> | null = null;
    let preflighted = (_checkpoint: CheckpointLine | null) => {};
    const firstCheckpoint = new Promise<CheckpointLine | null>((resolve) => {
      preflighted = resolve;
    });
    const echo = (holding: CheckpointLine | null) => {
      preflighted(holding);
      echoing ??= clock.run('write-checkpoint', () =>
        checkWriteCheckpointEcho(
          target.syncUrl,
          mint,
          PROBE_DEFAULTS.writeCheckpointWaitMs,
          holding,
          subscriptions,
          echoCancel.signal
        )
      );
      echoing.catch(() => {}); // awaited below
      return echoing;
    };
    // The client syncs while the expected state is computed: a snapshot taken before or after the
    // checkpoint the client reaches differs only by lag, which the settle window below clears.
    syncing = clock.run('sync', () =>
      syncAsUser({
        endpoint: target.syncUrl,
        schema,
        token: mint,
        subscriptions,
        deadlineMs: options.deadlineMs,
        onPreflight: echo,
        onProgress: options.onSyncProgress
      })
    );
    syncing.then(
      (s) => {
        session = s;
      },
      () => {}
    );
    syncing.finally(() => preflighted(null)).catch(() => {});
    expecting = clock.run('expected', async () => {
      const expectedOptions = {
        sourceUrl: target.sourceUrl,
        rules,
        userId,
        claims: { ...(target.extraClaims ?? {}), ...(options.claims ?? {}) },
        subscriptions,
        // Large tables are split across threads only if their scan would outlast this sync.
        userOperations: firstCheckpoint.then((c) => (c ? operationsOf(c) : null))
      };
      // Without a kept thread, a user the service holds many operations for gets a thread of its own;
      // anyone else's is computed in-thread once the schema is known (starting earlier was measured
      // slower: it delays the sync's start).
      let oneOff: ExpectedStateWorker | null = null;
      if (!options.expectedStateWorker) {
        const [checkpoint] = await Promise.all([firstCheckpoint, schema.catch(() => {})]);
        const operations = checkpoint ? operationsOf(checkpoint) : 0;
        if (operations >= (options.ownThreadFromOperations ?? PROBE_DEFAULTS.ownThreadFromOperations)) {
          options.logger.debug({ operations }, 'expected state on a thread of its own');
          oneOff = new ExpectedStateWorker({ partitionHelpers: options.partitionHelpers });
        }
      }
      const worker = options.expectedStateWorker ?? oneOff;
      if (worker) {
        try {
          return await worker.compute({ ...expectedOptions, rulesFile: target.syncRulesFile });
        } catch (error) {
          if (!(error instanceof ExpectedStateWorkerUnavailable)) throw error;
          options.logger.warn({ err: error.message }, 'expected state computed in-thread instead');
        } finally {
          void oneOff?.close();
        }
      }
      // The expected rows go to a temporary SQLite file the diff joins with the client's database.
      const spill = SpilledExpectedRows.create();
      inThreadRows = spill;
      // Threads that start only if a table is large enough to scan in partitions.
      const helpers = new PartitionHelperThreads(options.partitionHelpers ?? defaultPartitionHelperCount());
      try {
        const state = await computeExpectedState({
          ...expectedOptions,
          rows: spill,
          partitionHelpers: helpers
        });
        return { ...state, rows: spill };
      } finally {
        void helpers.close();
      }
    });
    const [synced, expected] = await Promise.all([syncing, expecting]);
    session = synced;
    const expectedBuckets = expected.buckets.map((b) => b.bucket);
    if (
      synced.outcome.kind === 'auth-rejected' ||
      synced.outcome.kind === 'unreachable' ||
      synced.outcome.kind === 'token-expiring'
    ) {
      return report({
        verdict: 'error',
        summary: `Probe could not run: ${syncFailureSummary(synced.outcome)}`,
        sync: synced.outcome,
        error: { code: synced.outcome.kind, message: syncFailureSummary(synced.outcome) }
      });
    }
    if (synced.outcome.kind !== 'synced' || !synced.client) {
      return report({
        verdict: 'mismatch',
        summary: `Mismatch: ${syncFailureSummary(synced.outcome)}`,
        sync: synced.outcome,
        buckets: {
          expected: expectedBuckets,
          actual: [],
          differences: [],
          overLimit: expectedBuckets.length > 1000
        }
      });
    }

    const client = synced.client;
    const maxDifferences = options.maxDifferences ?? DIFF_DEFAULTS.maxDifferences;
    const runDiff = () =>
      diffStates({
        expectedBuckets,
        expectedRows: expected.rows,
        actualBuckets: client.buckets(),
        clientFile: client.file,
        checkpoint: synced.preflightCheckpoint,
        maxDifferences
      });
    let diff = await clock.run('diff', async () => runDiff());
    const firstSeen = Date.now();
    // Differences that disappear while the client keeps syncing were lag; keep them, marked as cleared.
    const cleared = new Map<string, RowDifference>();
    const keyOf = (d: RowDifference) => `${d.kind}\u0000${d.table}\u0000${d.id}`;
    const rowDifferenceTotal = (d: StateDiff) =>
      d.differenceCounts.missing + d.differenceCounts.extra + d.differenceCounts.different;
    await clock.run('settle', async () => {
      const deadline = Date.now() + settleMs;
      while ((rowDifferenceTotal(diff) > 0 || diff.bucketDifferences.length > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        const next = await runDiff();
        const still = new Set(next.rowDifferences.map(keyOf));
        // A capped list says nothing about keys after its last one: those are not known to have cleared.
        const horizon =
          rowDifferenceTotal(next) > next.rowDifferences.length ? next.rowDifferences.at(-1) : undefined;
        for (const d of diff.rowDifferences) {
          if (still.has(keyOf(d)) || cleared.has(keyOf(d))) continue;
          if (horizon && compareRowKeys(d.table, d.id, horizon.table, horizon.id) > 0) continue;
          cleared.set(keyOf(d), { ...d, settled: 'cleared', clearedAfterMs: Date.now() - firstSeen });
        }
        diff = next;
      }
    });
    const rowDifferences = [...diff.rowDifferences, ...cleared.values()];
    const persistedTotal = rowDifferenceTotal(diff);

    const echoed = await echo(synced.preflightCheckpoint);

    const differingTables = Object.entries(diff.perTable)
      .filter(([, c]) => c.expected !== c.actual)
      .map(([t]) => t);
    const ctx: DiagnosisContext = {
      userId,
      unpublishedTables:
        rowDifferences.length > 0 || differingTables.length > 0
          ? await unpublishedTables(target.sourceUrl, [
              ...new Set([...rowDifferences.map((d) => d.table), ...differingTables])
            ])
          : new Set(),
      replicationLagSeconds: null,
      settleMs,
      actualBuckets: new Set(diff.heldBuckets),
      ruleOf: (table, bucket) => {
        const definition = expected.buckets.find((b) => b.bucket === bucket)?.definition;
        const line = findTableReferences(rules.yaml, table)[0]?.line;
        return definition
          ? `rule ${definition}${line ? `, ${target.syncRulesFile ?? 'sync_rules.yaml'}:${line}` : ''}`
          : null;
      }
    };
    for (const d of rowDifferences) d.explanation = explainRowDifference(d, ctx);
    const bucketDifferences = diff.bucketDifferences.map((d) => ({
      ...d,
      explanation: explainBucketDifference(d, expected, ctx)
    }));
    const persisted = rowDifferences.filter((d) => d.settled === 'persisted');
    const omitted = persistedTotal - persisted.length;
    const problems = [
      ...bucketDifferences.map((d) => d.explanation),
      ...persisted.map((d) => d.explanation),
      ...(omitted > 0
        ? [`${omitted} further row differences (not listed: the report keeps the first ${maxDifferences})`]
        : []),
      ...diff.bucketChecksumMismatches.map(
        (m) => `bucket ${m.bucket}: client checksum ${m.client} ≠ checkpoint ${m.checkpoint}`
      ),
      ...(echoed.ok
        ? []
        : [syncFailureSummary({ kind: 'write-checkpoint-not-echoed', seconds: echoed.waitedSeconds })])
    ];
    const verdict = problems.length === 0 ? 'consistent' : 'mismatch';
    const summary =
      verdict === 'consistent'
        ? `Consistent: ${expected.rows.size} rows in ${expectedBuckets.length} buckets match the source${cleared.size ? ` (${cleared.size} differences cleared within the settle window: replication lag)` : ''}.`
        : `Mismatch: ${persistedTotal} row and ${bucketDifferences.length} bucket differences. ${problems[0]}`;
    return report({
      verdict,
      summary,
      sync: echoed.ok
        ? synced.outcome
        : { kind: 'write-checkpoint-not-echoed', seconds: echoed.waitedSeconds },
      buckets: {
        expected: expectedBuckets,
        actual: diff.heldBuckets,
        differences: bucketDifferences,
        overLimit: expectedBuckets.length > 1000
      },
      rows: {
        expected: expected.rows.size,
        actual: diff.actualRows,
        perTable: diff.perTable,
        differences: rowDifferences,
        differenceCounts: diff.differenceCounts,
        differencesOmitted: omitted
      },
      checksums: {
        bucketMismatches: diff.bucketChecksumMismatches,
        rowMismatches: diff.rowChecksumMismatches
      }
    });
  } catch (error) {
    const code = isSyncScopeError(error) ? error.code : 'SYNCSCOPE_E_INTERNAL_ERROR';
    options.logger.error({ err: (error as Error).message, code }, 'probe failed');
    return report({
      verdict: 'error',
      summary: `Probe could not run: ${(error as Error).message}`,
      error: { code, message: (error as Error).message }
    });
  } finally {
    echoCancel.abort();
    (inThreadRows as SpilledExpectedRows | null)?.close();
    // Rows a thread was still computing when the probe ended (the sync failed first): once handed over.
    (expecting as Promise<SpilledExpectedState> | null)?.then(
      (e) => e.rows.close(),
      () => {}
    );
    const open = session as SyncAsUserResult | null;
    if (open) await open.close();
    // A sync still running when the expected state failed: close it whenever it ends.
    else syncing?.then((s) => s.close()).catch(() => {});
  }
}
