/**
 * A probe: a function with a deadline that returns a verdict, never throws for a failed check. Its
 * lifecycle (phases, events, verdicts and their reasons) is the state machine in probe-lifecycle.ts;
 * this file runs one phase per state:
 *
 *   service-check   admin API: initial replication? a rules version reprocessing? which rules are served?
 *   sync            mint ─▶ schema ─┬▶ sync (real client as the user) ──────────────────────────┐
 *                                   └▶ expected (source snapshot + rules, rows spilled to disk) ┴▶
 *   recheck-*       admin API again when the sync failed: was it initial replication or a redeploy?
 *   diff            diff (SQLite join of both sides) ─▶ settle (lag clears, faults persist) ─▶ explain;
 *                   write-checkpoint echo: from the end of the sync's preflight, beside all of this
 *   replication-check  admin API and the slot again: is the staleness stalled replication?
 */

import pg from 'pg';
import { ERROR_CODES, type ErrorCode } from '../errors/error-codes.ts';
import type { Logger } from '../logging/logger.ts';
import { cachedSyncRules } from '../sync-rules/cached-sync-rules.ts';
import { findTableReferences, type LoadedSyncRules } from '../sync-rules/load-sync-rules.ts';
import { assertSubscribableStreams, type StreamSubscription } from '../sync-rules/stream-subscriptions.ts';
import { counted } from '../text/counted.ts';
import { errorEvent, type PhaseResult, syncOutcomeEvent } from './classify-outcome.ts';
import { DIFF_DEFAULTS, diffStates, type StateDiff } from './diff/diff-states.ts';
import {
  type DiagnosisContext,
  explainBucketDifference,
  explainRowDifference
} from './diff/explain-differences.ts';
import { compareRowKeys } from './diff/row-key-order.ts';
import { type ComputedExpectedState, computeExpectedState } from './expected/compute-expected-state.ts';
import { type ExpectedRowStore, MemoryExpectedRows, SpilledExpectedRows } from './expected/expected-rows.ts';
import {
  ExpectedStateWorker,
  ExpectedStateWorkerUnavailable,
  PartitionHelperThreads,
  type SpilledExpectedState
} from './expected/expected-state-worker.ts';
import { defaultPartitionHelperCount } from './expected/partitioned-scan.ts';
import type { SourceSessionPool } from './expected/source-session.ts';
import { diffLiveState } from './light/diff-live-state.ts';
import { followLightSync, type LightSync } from './light/light-sync.ts';
import { abortEvent, type ProbeState, type ProbeTransition, probeTransition } from './probe-lifecycle.ts';
import type { ProbeMode } from './probe-mode.ts';
import {
  PROBE_REPORT_VERSION,
  type ProbeReport,
  type ProbeTarget,
  type RowDifference
} from './probe-types.ts';
import {
  checkService,
  recheckService,
  replicationEvidence,
  type ServiceCheck,
  serviceState,
  slotLag,
  stalledSentence
} from './service-evidence.ts';
import { deriveClientSchema } from './sync/derive-client-schema.ts';
import { type CheckpointLine, type SyncAsUserResult, syncAsUser } from './sync/sync-as-user.ts';
import { checkWriteCheckpointEcho, checkWriteCheckpointEchoOn } from './sync/write-checkpoint-echo.ts';
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
  /**
   * How long the service may take to echo a write checkpoint before that is a mismatch. It runs beside
   * the diff and the settle window, so a healthy service costs nothing; 5 s was seen to run out on an
   * overloaded 2-core machine (a false mismatch in the stream-cut fault test), an outage no user feels.
   */
  writeCheckpointWaitMs: 15_000
} as const;

export interface RunProbeOptions {
  /**
   * `full` (default): the real client syncs into a throw-away database. `light`: the stream is read at the
   * protocol level and the expected rows kept in memory; a difference is confirmed by a full probe.
   */
  mode?: ProbeMode;
  /** Kept source connections for light probes' expected state (many probes in one process). */
  sessionPool?: SourceSessionPool;
  claims?: Record<string, unknown>;
  /**
   * Sync streams the probe's client subscribes to, as the user's app does with
   * `db.syncStream(name, parameters).subscribe()`; default streams are always included.
   */
  subscriptions?: StreamSubscription[];
  /** The whole probe's deadline: past it, the verdict is inconclusive SYNCSCOPE_E_PROBE_DEADLINE. */
  deadlineMs?: number;
  /**
   * Stops the probe promptly: it returns `inconclusive` with the signal's reason when that is a
   * catalogue code (SYNCSCOPE_E_JOB_LEASE_LOST, SYNCSCOPE_E_PROBE_DEADLINE), else the deadline's.
   */
  signal?: AbortSignal;
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
  /** Phases started and not yet finished: what a deadline interrupted. */
  readonly running = new Set<string>();
  constructor(private readonly onPhase?: (phase: string) => void) {}
  async run<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    this.running.add(phase);
    this.onPhase?.(phase);
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.running.delete(phase);
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

export async function runProbe(
  target: ProbeTarget,
  userId: string,
  options: RunProbeOptions
): Promise<ProbeReport> {
  const probe = new ProbeRun(target, userId, options);
  try {
    return await probe.run();
  } finally {
    await probe.close();
  }
}

type ReportParts = Partial<ProbeReport> & Pick<ProbeReport, 'verdict' | 'summary'>;
/** The expected state as the diff reads it: spilled (full probes) or in memory (light probes). */
type DiffableExpectedState = Omit<SpilledExpectedState, 'rows'> & { rows: ExpectedRowStore };
type Verdict = Extract<ProbeTransition, { verdict: string }>;

/** One probe's state across its phases; `run` walks the lifecycle table. */
class ProbeRun {
  private readonly startedAt = new Date();
  private readonly clock: PhaseClock;
  private readonly settleMs: number;
  private readonly deadlineMs: number;
  private readonly subscriptions: StreamSubscription[];
  private readonly warnings: string[] = [];
  /** The probe's deadline and the caller's signal in one. */
  private readonly signal: AbortSignal;
  private readonly echoCancel = new AbortController();
  private lastToken: MintedProbeToken | null = null;
  private service: ServiceCheck | null = null;
  private rules: LoadedSyncRules | null = null;
  private rulesFile: string | undefined;
  private session: SyncAsUserResult | null = null;
  private syncing: Promise<SyncAsUserResult> | null = null;
  private expecting: Promise<DiffableExpectedState> | null = null;
  /** The in-thread store, closed as soon as the probe ends: its computation then stops at the next row. */
  private inThreadRows: SpilledExpectedRows | null = null;
  private echoing: Promise<{ ok: boolean; waitedSeconds: number }> | null = null;
  private synced: SyncAsUserResult | null = null;
  private expected: DiffableExpectedState | null = null;
  private readonly mode: ProbeMode;
  /** A light probe's followed stream (its reader's state is what the diff reads). */
  private light: LightSync | null = null;
  /** The full probe a light probe ran to confirm its difference. */
  private confirmation: ProbeReport | null = null;
  /** What the sync phase's failure said, for a recheck that finds nothing else to blame. */
  private syncFailure: PhaseResult | null = null;
  /** The diff phase's finding, for the replication check. */
  private differences: PhaseResult & { head: string; persistingData: boolean } = {
    event: 'ok',
    head: '',
    persistingData: false
  };
  private consistentSummary = '';
  private parts: Partial<ProbeReport> = {};

  constructor(
    private readonly target: ProbeTarget,
    private readonly userId: string,
    private readonly options: RunProbeOptions
  ) {
    this.clock = new PhaseClock(options.onPhase);
    this.settleMs = options.settleMs ?? PROBE_DEFAULTS.settleMs;
    this.deadlineMs = options.deadlineMs ?? PROBE_DEFAULTS.deadlineMs;
    this.subscriptions = options.subscriptions ?? [];
    this.mode = options.mode ?? 'full';
    this.rulesFile = target.syncRulesFile;
    const deadline = AbortSignal.timeout(this.deadlineMs);
    this.signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  }

  private readonly phases: Record<ProbeState, () => Promise<PhaseResult>> = {
    'service-check': () => this.checkService(),
    sync: () => this.sync(),
    'recheck-unreachable': () => this.recheck(),
    'recheck-unstable': () => this.recheck(),
    diff: () => this.diff(),
    'replication-check': () => this.checkReplication(),
    confirm: () => this.confirm()
  };

  async run(): Promise<ProbeReport> {
    let state: ProbeState = 'service-check';
    for (;;) {
      const result = await this.guarded(this.phases[state]);
      const step = probeTransition(state, result.event, this.mode);
      if ('next' in step) state = step.next;
      else return this.finish(step, result);
    }
  }

  /** A phase's result, a thrown error's event, or the signal's, whichever comes first. */
  private async guarded(phase: () => Promise<PhaseResult>): Promise<PhaseResult> {
    let onAbort = () => {};
    const aborted = new Promise<PhaseResult>((resolve) => {
      onAbort = () => resolve(this.abortResult());
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([aborted, phase().catch(errorEvent)]);
    } finally {
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  private abortResult(): PhaseResult {
    const event = abortEvent(this.signal);
    const during = [...this.clock.running].join(' and ') || 'between phases';
    return {
      event,
      message:
        event === 'lease-lost'
          ? `The agent lost its lease on this probe's job during ${during}; it stopped, and the job's new owner runs it.`
          : `The probe did not finish within its deadline of ${Math.round(this.deadlineMs / 1000)} s: it was stopped during ${during}.`
    };
  }

  private finish(step: Verdict, result: PhaseResult): ProbeReport {
    if (step.verdict === 'consistent')
      return this.report({ verdict: 'consistent', summary: this.consistentSummary });
    const code: ErrorCode =
      step.reason === 'event' ? (result.code ?? 'SYNCSCOPE_E_INTERNAL_ERROR') : step.reason;
    const message = result.message ?? ERROR_CODES[code].description;
    const lead = { mismatch: 'Mismatch', inconclusive: 'Inconclusive', error: 'Probe could not run' }[
      step.verdict
    ];
    if (step.verdict === 'error') this.options.logger.error({ err: message, code }, 'probe failed');
    return this.report({
      verdict: step.verdict,
      summary: `${lead}: ${message}`,
      reason: { code, message },
      ...(step.verdict === 'error' ? { error: { code, message } } : {})
    });
  }

  private report(partial: ReportParts): ProbeReport {
    const token = this.lastToken;
    return {
      version: PROBE_REPORT_VERSION,
      target: this.target.name,
      userId: this.userId,
      mode: this.mode,
      ...(this.confirmation ? { confirmation: this.confirmation } : {}),
      subscriptions: this.subscriptions,
      startedAt: this.startedAt.toISOString(),
      durationMs: Date.now() - this.startedAt.getTime(),
      phases: this.clock.phases,
      token: token
        ? {
            kid: token.kid,
            jti: token.jti,
            expiresAt: token.expiresAt.toISOString(),
            audience: token.audience
          }
        : { kid: this.target.signing.kid, jti: '', expiresAt: '', audience: this.target.audience },
      sync: { kind: 'no-progress', seconds: 0 },
      buckets: { expected: [], actual: [], differences: [], overLimit: false },
      rows: { expected: 0, actual: 0, perTable: {}, differences: [] },
      checksums: { bucketMismatches: [], rowMismatches: 0 },
      warnings: this.warnings,
      ...(this.service?.evidence ? { service: this.service.evidence } : {}),
      ...this.parts,
      ...partial
    };
  }

  /**
   * One token serves the whole probe (preflight, client, write checkpoint); a new one only near expiry
   * (its last minute, or last third for a target whose tokens live less than three minutes).
   */
  private readonly mint = async (): Promise<string> => {
    const ttlSeconds = this.target.probeTokenTtlSeconds ?? DEFAULT_PROBE_TOKEN_TTL_SECONDS;
    const current = this.lastToken;
    if (current && current.expiresAt.getTime() - Date.now() > Math.min(60_000, (ttlSeconds * 1000) / 3))
      return current.token;
    const minted = await mintAuditedProbeToken({
      ...this.options.authorisation,
      target: this.target,
      userId: this.userId,
      claims: this.options.claims,
      purpose: 'read',
      subscriptions: this.subscriptions,
      ttlSeconds
    });
    this.lastToken = minted;
    this.options.logger.info(
      { kid: minted.kid, jti: minted.jti, audience: minted.audience, expiresAt: minted.expiresAt },
      'probe token minted'
    );
    return minted.token;
  };

  // ── service-check ────────────────────────────────────────────────────────────────────────────────
  private async checkService(): Promise<PhaseResult> {
    const check = await this.clock.run('service', () => checkService(this.target, this.signal));
    this.service = check;
    this.warnings.push(...check.warnings);
    if (check.servedRules !== undefined) this.rulesFile = 'the rules the service serves';
    return check.result;
  }

  // ── sync: the client syncs while the expected state is computed ──────────────────────────────────
  private async sync(): Promise<PhaseResult> {
    const rules = cachedSyncRules(this.service?.servedRules ?? this.target.syncRulesYaml, {
      file: this.rulesFile,
      version: this.service?.servedVersion
    });
    this.rules = rules;
    // Before any token is minted: a misspelt stream would otherwise be ignored by the service.
    assertSubscribableStreams(rules.hydrated, this.subscriptions);
    await this.clock.run('mint', this.mint);
    if (this.mode === 'light') return this.lightSync(rules);
    // The schema is derived while the sync's preflight request runs.
    const schema = this.clock.run('schema', () => this.deriveSchema(rules));
    let preflighted = (_checkpoint: CheckpointLine | null) => {};
    const firstCheckpoint = new Promise<CheckpointLine | null>((resolve) => {
      preflighted = resolve;
    });
    // A snapshot taken before or after the checkpoint the client reaches differs only by lag, which the
    // settle window clears.
    this.syncing = this.clock.run('sync', () =>
      syncAsUser({
        endpoint: this.target.syncUrl,
        schema,
        token: this.mint,
        subscriptions: this.subscriptions,
        signal: this.signal,
        onPreflight: (checkpoint) => {
          preflighted(checkpoint);
          this.echo(checkpoint);
        },
        onProgress: this.options.onSyncProgress
      })
    );
    this.syncing.then(
      (s) => {
        this.session = s;
      },
      () => {}
    );
    this.syncing.finally(() => preflighted(null)).catch(() => {});
    this.expecting = this.clock.run('expected', () => this.computeExpected(rules, schema, firstCheckpoint));
    const [synced, expected] = await Promise.all([this.syncing, this.expecting]);
    this.synced = synced;
    this.expected = expected;
    const expectedBuckets = expected.buckets.map((b) => b.bucket);
    this.parts.sync = synced.outcome;
    this.parts.buckets = {
      expected: expectedBuckets,
      actual: [],
      differences: [],
      overLimit: expectedBuckets.length > 1000
    };
    const result = syncOutcomeEvent(synced.outcome, expected);
    if (result.event === 'ok' && !synced.client)
      return { event: 'bug', message: 'the sync ended synced without a client database' };
    this.syncFailure = result;
    return result;
  }

  /**
   * The light probe's sync: the stream read by a SyncStreamReader (light/light-sync.ts) while the expected
   * rows are computed in memory on this thread, from a kept connection when the caller shares a pool.
   */
  private async lightSync(rules: LoadedSyncRules): Promise<PhaseResult> {
    let firstCheckpoint = (_checkpoint: CheckpointLine | null) => {};
    const checkpointSeen = new Promise<CheckpointLine | null>((resolve) => {
      firstCheckpoint = resolve;
    });
    const light = followLightSync({
      endpoint: this.target.syncUrl,
      token: this.mint,
      subscriptions: this.subscriptions,
      signal: this.signal,
      onFirstCheckpoint: (checkpoint) => {
        firstCheckpoint(checkpoint);
        if (checkpoint) this.echo(checkpoint);
      },
      onProgress: this.options.onSyncProgress
    });
    this.light = light;
    const syncing = this.clock.run('sync', () => light.outcome);
    const expecting = this.clock.run('expected', () => this.computeLightExpected(rules, checkpointSeen));
    this.expecting = expecting;
    expecting.catch(() => {});
    const outcome = await syncing;
    // A failed sync does not wait for the source: the bucket limit's message is the only reader.
    const expected = outcome.kind === 'synced' || outcome.kind === 'service-error' ? await expecting : null;
    this.parts.sync = outcome;
    if (expected) {
      this.expected = expected;
      const expectedBuckets = expected.buckets.map((b) => b.bucket);
      this.parts.buckets = {
        expected: expectedBuckets,
        actual: [],
        differences: [],
        overLimit: expectedBuckets.length > 1000
      };
    }
    const result = syncOutcomeEvent(outcome, expected);
    this.syncFailure = result;
    return result;
  }

  /**
   * A light probe's expected rows, in memory on this thread from the shared connections: the many small
   * probes in flight at once start at once. If the stream's first checkpoint shows a user the service holds
   * many operations for before that is done, the rows are computed as a full probe's instead (the kept
   * thread, or one of its own; spilled): on this thread their CPU would stall the stream they run beside
   * (100k rows: light 2× the full probe).
   */
  private async computeLightExpected(
    rules: LoadedSyncRules,
    firstCheckpoint: Promise<CheckpointLine | null>
  ): Promise<DiffableExpectedState> {
    const rows = new MemoryExpectedRows();
    const inMemory = computeExpectedState({
      sourceUrl: this.target.sourceUrl,
      rules,
      userId: this.userId,
      claims: { ...(this.target.extraClaims ?? {}), ...(this.options.claims ?? {}) },
      subscriptions: this.subscriptions,
      rows,
      sessionPool: this.options.sessionPool,
      userOperations: firstCheckpoint.then((c) => (c ? operationsOf(c) : null))
    }).then((state): DiffableExpectedState => ({ ...state, rows }) satisfies ComputedExpectedState);
    inMemory.catch(() => {});
    const first = await Promise.race([firstCheckpoint, inMemory.then(() => 'done' as const)]);
    const threshold = this.options.ownThreadFromOperations ?? PROBE_DEFAULTS.ownThreadFromOperations;
    if (first === 'done' || !first || operationsOf(first) < threshold) return inMemory;
    rows.close(); // the in-memory computation stops at its next row
    return this.computeExpected(rules, Promise.resolve(), firstCheckpoint);
  }

  /**
   * A light probe's would-be mismatch: a full probe (the real client) as the same user with the same
   * subscriptions, within what is left of the deadline; its verdict is the one reported.
   */
  private async confirm(): Promise<PhaseResult> {
    this.light?.stop();
    const { authorisation } = this.options;
    const report = await this.clock.run('confirm', () =>
      runProbe(this.target, this.userId, {
        ...this.options,
        mode: 'full',
        signal: this.signal,
        deadlineMs: this.deadlineMs - (Date.now() - this.startedAt.getTime()),
        authorisation: {
          ...authorisation,
          reason: `${authorisation.reason} (confirming a light probe's difference)`
        }
      })
    );
    this.confirmation = report;
    const light = this.differences.message ?? this.syncFailure?.message ?? 'a difference';
    switch (report.verdict) {
      case 'mismatch':
        return {
          event: 'confirmed',
          code: report.reason!.code as ErrorCode,
          message: `${report.reason!.message} (found by the light probe, confirmed by a full probe with the real client)`
        };
      case 'consistent':
        this.consistentSummary = `Consistent: the light probe saw ${light.replace(/\.$/, '')}, but a full probe with the real client, run right after, found the user consistent: the difference did not persist (replication lag between the two reads).`;
        this.warnings.push(`light probe difference not confirmed by the full probe: ${light}`);
        return { event: 'unconfirmed' };
      case 'inconclusive':
        return {
          event: 'confirmation-inconclusive',
          code: report.reason!.code as ErrorCode,
          message: `The light probe saw ${light.replace(/\.$/, '')}; the full probe that was to confirm it could not tell: ${report.reason!.message}`
        };
      case 'error':
        return {
          event: 'invalid-input',
          code: report.reason!.code as ErrorCode,
          message: report.reason!.message
        };
    }
  }

  private async deriveSchema(rules: LoadedSyncRules) {
    const client = new pg.Client({ connectionString: this.target.sourceUrl });
    await client.connect();
    try {
      return await deriveClientSchema(client, rules.config);
    } finally {
      await client.end();
    }
  }

  /**
   * The write-checkpoint echo is a round trip of its own: once the service has accepted the token, it
   * runs beside the sync, the diff and the settle window. A full probe reads it on a second stream that
   * claims the preflight's checkpoint, so the service sends it checkpoints only; a light probe on the
   * stream it already follows.
   */
  private echo(holding: CheckpointLine | null) {
    const cancel = AbortSignal.any([this.echoCancel.signal, this.signal]);
    const waitMs = PROBE_DEFAULTS.writeCheckpointWaitMs;
    const { light } = this;
    this.echoing ??= this.clock.run('write-checkpoint', () =>
      light
        ? checkWriteCheckpointEchoOn(light, this.target.syncUrl, this.mint, waitMs, cancel)
        : checkWriteCheckpointEcho(
            this.target.syncUrl,
            this.mint,
            waitMs,
            holding,
            this.subscriptions,
            cancel
          )
    );
    this.echoing.catch(() => {}); // awaited in the diff phase
    return this.echoing;
  }

  private async computeExpected(
    rules: LoadedSyncRules,
    schema: Promise<unknown>,
    firstCheckpoint: Promise<CheckpointLine | null>
  ): Promise<SpilledExpectedState> {
    const { options, target } = this;
    const expectedOptions = {
      sourceUrl: target.sourceUrl,
      rules,
      userId: this.userId,
      claims: { ...(target.extraClaims ?? {}), ...(options.claims ?? {}) },
      subscriptions: this.subscriptions,
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
        return await worker.compute({ ...expectedOptions, rulesFile: this.rulesFile });
      } catch (error) {
        if (!(error instanceof ExpectedStateWorkerUnavailable)) throw error;
        options.logger.warn({ err: error.message }, 'expected state computed in-thread instead');
      } finally {
        void oneOff?.close();
      }
    }
    // The expected rows go to a temporary SQLite file the diff joins with the client's database.
    const spill = SpilledExpectedRows.create();
    this.inThreadRows = spill;
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
  }

  // ── recheck-*: was a failed sync the service snapshotting or switching rules? ────────────────────
  private async recheck(): Promise<PhaseResult> {
    const diagnostics = await this.clock.run('service-recheck', () =>
      recheckService(this.target, this.signal)
    );
    const state = diagnostics ? serviceState(diagnostics, null) : { event: 'ok' as const };
    return state.event === 'ok' ? { event: 'ok', message: this.syncFailure?.message } : state;
  }

  // ── diff: both sides compared, differences given the settle window to clear ──────────────────────
  private async diff(): Promise<PhaseResult> {
    const expected = this.expected!;
    const expectedBuckets = expected.buckets.map((b) => b.bucket);
    const maxDifferences = this.options.maxDifferences ?? DIFF_DEFAULTS.maxDifferences;
    const { light } = this;
    const firstCheckpoint = light ? light.firstCheckpoint : this.synced!.preflightCheckpoint;
    const syncOutcome = this.parts.sync!;
    // A light probe's reader keeps following the stream, so a re-diff sees what arrived since.
    const runDiff = light
      ? () =>
          diffLiveState({
            expectedBuckets,
            expectedRows: expected.rows,
            state: light.reader.state,
            checkpoint: firstCheckpoint,
            maxDifferences
          })
      : () =>
          diffStates({
            expectedBuckets,
            expectedRows: expected.rows as SpilledExpectedRows,
            actualBuckets: this.synced!.client!.buckets(),
            clientFile: this.synced!.client!.file,
            checkpoint: firstCheckpoint,
            maxDifferences
          });
    const first = await this.clock.run('diff', async () => runDiff());
    const { diff, cleared } = await this.clock.run('settle', () => this.settle(first, runDiff));
    const rowDifferences = [...diff.rowDifferences, ...cleared.values()];
    const persistedTotal = rowDifferenceTotal(diff);
    const echoed = await this.echo(firstCheckpoint);
    const ctx = await this.diagnosisContext(diff, rowDifferences);
    for (const d of rowDifferences) d.explanation = explainRowDifference(d, ctx);
    const bucketDifferences = diff.bucketDifferences.map((d) => ({
      ...d,
      explanation: explainBucketDifference(d, expected, ctx)
    }));
    const persisted = rowDifferences.filter((d) => d.settled === 'persisted');
    const omitted = persistedTotal - persisted.length;
    this.parts = {
      ...this.parts,
      sync: echoed.ok ? syncOutcome : { kind: 'write-checkpoint-not-echoed', seconds: echoed.waitedSeconds },
      buckets: { ...this.parts.buckets!, actual: diff.heldBuckets, differences: bucketDifferences },
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
      },
      replication: replicationEvidence({
        before: this.service?.diagnostics,
        writeCheckpointEchoed: echoed.ok,
        settleMs: this.settleMs
      }).evidence
    };
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
        : [
            `the service never echoed a write checkpoint within ${echoed.waitedSeconds} s: clients with local writes stay pending forever.`
          ])
    ];
    if (problems.length === 0) {
      this.consistentSummary = `Consistent: ${counted(expected.rows.size, 'row')} in ${counted(expectedBuckets.length, 'bucket')} match the source${cleared.size ? ` (${counted(cleared.size, 'difference')} cleared within the settle window: replication lag)` : ''}.`;
      return { event: 'ok' };
    }
    const persistingData =
      persistedTotal > 0 || bucketDifferences.length > 0 || diff.bucketChecksumMismatches.length > 0;
    const code: ErrorCode =
      bucketDifferences.length > 0
        ? 'SYNCSCOPE_E_BUCKETS_DIFFER'
        : persistingData
          ? 'SYNCSCOPE_E_ROWS_DIFFER'
          : 'SYNCSCOPE_E_WRITE_CHECKPOINT_NOT_ECHOED';
    const head = `${persistedTotal} row and ${bucketDifferences.length} bucket differences.`;
    this.differences = {
      event: 'differences',
      code,
      message: `${head} ${problems[0]}`,
      head,
      persistingData
    };
    return this.differences;
  }

  /** Re-diffs until the differences clear or the settle window ends; cleared ones are kept as lag. */
  private async settle(first: StateDiff, runDiff: () => StateDiff) {
    let diff = first;
    const firstSeen = Date.now();
    const cleared = new Map<string, RowDifference>();
    const keyOf = (d: RowDifference) => `${d.kind}\u0000${d.table}\u0000${d.id}`;
    const deadline = Date.now() + this.settleMs;
    while ((rowDifferenceTotal(diff) > 0 || diff.bucketDifferences.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      if (this.signal.aborted) break;
      const next = runDiff();
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
    return { diff, cleared };
  }

  private async diagnosisContext(
    diff: StateDiff,
    rowDifferences: RowDifference[]
  ): Promise<DiagnosisContext> {
    const { target, rules } = this;
    const expected = this.expected!;
    const differingTables = Object.entries(diff.perTable)
      .filter(([, c]) => c.expected !== c.actual)
      .map(([t]) => t);
    const lag = this.service?.diagnostics?.active_sync_rules?.connections[0]?.replication_lag_seconds;
    return {
      userId: this.userId,
      unpublishedTables:
        rowDifferences.length > 0 || differingTables.length > 0
          ? await unpublishedTables(target.sourceUrl, [
              ...new Set([...rowDifferences.map((d) => d.table), ...differingTables])
            ])
          : new Set(),
      replicationLagSeconds: lag ?? null,
      settleMs: this.settleMs,
      actualBuckets: new Set(diff.heldBuckets),
      ruleOf: (table, bucket) => {
        const definition = expected.buckets.find((b) => b.bucket === bucket)?.definition;
        const line = rules ? findTableReferences(rules.yaml, table)[0]?.line : undefined;
        return definition
          ? `rule ${definition}${line ? `, ${this.rulesFile ?? 'sync_rules.yaml'}:${line}` : ''}`
          : null;
      }
    };
  }

  // ── replication-check: differences that persisted, explained by the service's replication? ────────
  private async checkReplication(): Promise<PhaseResult> {
    const after = await this.clock.run('replication', () => recheckService(this.target, this.signal));
    // Rules switched or replication restarted during the probe: the differences say nothing.
    const state = after ? serviceState(after, null) : { event: 'ok' as const };
    if (state.event !== 'ok') return state;
    const slotName = (after ?? this.service?.diagnostics)?.active_sync_rules?.connections[0]?.slot_name;
    const slot = await slotLag(this.target.sourceUrl, slotName);
    const { evidence, stalled } = replicationEvidence({
      before: this.service?.diagnostics,
      after,
      writeCheckpointEchoed: this.parts.replication?.writeCheckpointEchoed ?? null,
      slot,
      settleMs: this.settleMs
    });
    this.parts.replication = evidence;
    if (stalled && this.differences.persistingData) {
      return {
        event: 'replication-stalled',
        message: `${this.differences.head} ${stalledSentence(evidence)}`
      };
    }
    return { ...this.differences, event: 'ok' };
  }

  async close(): Promise<void> {
    this.echoCancel.abort();
    this.light?.stop();
    this.inThreadRows?.close();
    // Rows a thread was still computing when the probe ended (the sync failed first): once handed over.
    this.expecting?.then(
      (e) => e.rows.close(),
      () => {}
    );
    if (this.session) await this.session.close();
    // A sync still running when the probe ended: close it whenever it ends.
    else this.syncing?.then((s) => s.close()).catch(() => {});
  }
}

const rowDifferenceTotal = (d: StateDiff) =>
  d.differenceCounts.missing + d.differenceCounts.extra + d.differenceCounts.different;
