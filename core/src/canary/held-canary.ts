/**
 * One live canary: a user whose sync stream stays open, verified as it changes.
 *
 *   start ──▶ open stream (audited token; refreshed, and audited, on token_expires_in)
 *     │  checkpoint_complete after a (re)connect ──▶ reconcile: the user's whole expected state
 *     │  checkpoint_complete after a checkpoint_diff ──▶ re-read the rows its data lines touched
 *     │  every reconcileMs ──▶ reconcile (catches a change the service never sent)
 *     │  a difference pending ──▶ checked again when its settle window ends: still there → mismatch
 *     │  checksums fail ──▶ those buckets again from 0 (as the client); 3 in a row → mismatch
 *     └  stream down / source unreadable ──▶ inconclusive (never mismatch), reconnect with backoff
 *
 * Evaluations run one at a time and only at a completed checkpoint, when the stream's state is whole.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { ErrorCode } from '../errors/error-codes.ts';
import { errorEvent, type PhaseResult, syncOutcomeEvent } from '../probe/classify-outcome.ts';
import { computeExpectedState } from '../probe/expected/compute-expected-state.ts';
import { openReadOnlyConnection, toProbeError, withSourceSession } from '../probe/expected/source-session.ts';
import { resolveRuleTables, type SourceTableInfo } from '../probe/expected/source-tables.ts';
import {
  checkBuckets,
  type DataLine,
  resetBuckets,
  type SyncLine,
  SyncStreamError,
  SyncStreamReader
} from '../probe/light/sync-stream-reader.ts';
import type { CanarySettings, ProbeTarget, ScheduledUser, SyncedRow } from '../probe/probe-types.ts';
import { checkService } from '../probe/service-evidence.ts';
import {
  DEFAULT_PROBE_TOKEN_TTL_SECONDS,
  mintAuditedProbeToken,
  type ProbeTokenAuthorisation
} from '../probe/tokens/mint-probe-token.ts';
import type { ProbeVerdict } from '../probe/verdicts.ts';
import { type LoadedSyncRules, loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { canaryVerdict, DifferenceTracker } from './canary-verdict.ts';
import { bucketComparison, differingRows, heldRows, rowKeyOf } from './compare-rows.ts';
import { readRowsByKey } from './touched-rows.ts';

export const CANARY_DEFAULTS = {
  reconnectBaseMs: 500,
  reconnectCapMs: 15_000,
  statementTimeoutMs: 10_000,
  /** After the source (or the admin API) could not be read, the next attempt. */
  sourceRetryMs: 5_000
} as const;

/** Why the stream could not be read, as the probe names it; a stream that ended is unstable until back. */
function streamOutage(error: unknown): PhaseResult {
  if (!(error instanceof SyncStreamError)) return errorEvent(error);
  if (error.outcome.kind === 'stream-ended')
    return { event: 'stream-unstable', message: `${error.message}; reconnecting` };
  return syncOutcomeEvent(error.outcome, null);
}

export interface CanaryStatus {
  target: string;
  userId: string;
  verdict: ProbeVerdict;
  reason?: { code: ErrorCode; message: string };
  heldSince: Date;
  /** When the stream last delivered a checkpoint or checkpoint_diff. */
  lastCheckpointAt: Date | null;
  /** When the verdict was last evaluated (a comparison, or the stream going down). */
  evaluatedAt: Date;
  /** Differences seen but not yet through the settle window. */
  pendingDifferences: number;
  /** Tokens minted (each audited first): the first, refreshes and reconnects. */
  tokensMinted: number;
  /** Of those, refreshes the service asked for with `token_expires_in` (the stream resumed, no reconnect). */
  tokenRefreshes: number;
  /** The last comparison: everything (reconcile), or the rows a checkpoint_diff touched (their keys, up to 100). */
  lastComparison: { kind: 'reconcile' | 'touched'; rows: number; keys?: string[] } | null;
}

const LISTED_KEYS = 100;

export interface HeldCanaryOptions {
  target: ProbeTarget;
  user: ScheduledUser;
  settings: Pick<CanarySettings, 'settleMs' | 'reconcileMs'>;
  /** Who holds the canary and why: every token (refreshes too) is audited with it first. */
  authorisation: ProbeTokenAuthorisation;
  /** Every evaluation's status (also unchanged ones: `evaluatedAt` moves). */
  onStatus?: (status: CanaryStatus) => void;
  /** Each data line as it arrives (freshness markers are timed on it). */
  onData?: (line: DataLine, arrivedAt: number) => void;
}

/** The expected side: the rules served, the user's buckets and rows, and the tables they come from. */
interface ExpectedSide {
  rules: LoadedSyncRules;
  tables: SourceTableInfo[];
  buckets: string[];
  bucketIds: Set<string>;
  rows: Map<string, SyncedRow>;
}

export class HeldCanary {
  private readonly reader: SyncStreamReader;
  private readonly tracker = new DifferenceTracker();
  private readonly stop = new AbortController();
  private readonly heldSince = new Date();
  private expected: ExpectedSide | null = null;
  private outage: PhaseResult | null = null;
  private compared = false;
  private checksumFailures = 0;
  private atCompleteCheckpoint = false;
  private reconcileDue = true;
  private streamWasDown = false;
  private failedConnects = 0;
  private lastCheckpointAt: Date | null = null;
  private tokensMinted = 0;
  private lastComparison: CanaryStatus['lastComparison'] = null;
  private touched = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private settleTimer: NodeJS.Timeout | null = null;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private source: Promise<pg.Client> | null = null;
  status: CanaryStatus;

  constructor(private readonly options: HeldCanaryOptions) {
    this.reader = new SyncStreamReader({
      endpoint: options.target.syncUrl,
      token: this.mint,
      subscriptions: options.user.subscriptions,
      clientId: `syncscope-canary-${options.user.userId}`,
      signal: this.stop.signal
    });
    this.status = this.statusNow();
  }

  /** Starts holding the stream; resolves at once (the hold runs until `close`). */
  start(): void {
    this.running ??= this.hold();
    this.reconcileTimer = setInterval(() => {
      this.reconcileDue = true;
      this.whenComplete(this.evaluate);
    }, this.options.settings.reconcileMs);
  }

  async close(): Promise<void> {
    this.stop.abort();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await this.running;
    await this.queue;
    await this.source?.then((c) => c.end()).catch(() => {});
  }

  private readonly mint = async (): Promise<string> => {
    const { target, user, authorisation } = this.options;
    const minted = await mintAuditedProbeToken({
      ...authorisation,
      target,
      userId: user.userId,
      purpose: 'read',
      subscriptions: user.subscriptions,
      ttlSeconds: target.probeTokenTtlSeconds ?? DEFAULT_PROBE_TOKEN_TTL_SECONDS
    });
    this.tokensMinted++;
    return minted.token;
  };

  /** The connect loop: read until the stream ends, then reconnect after a growing delay. */
  private async hold(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        // After a checksum failure the failed buckets are downloaded again, as the client does; a
        // service that keeps failing them is met with the same growing delay as one that is down.
        if ((await this.readStream()) === 'reconnect') this.failedConnects++;
      } catch (error) {
        if (this.stop.signal.aborted) return;
        this.failedConnects++;
        this.down(streamOutage(error), 'stream');
      }
      const delay = Math.min(
        CANARY_DEFAULTS.reconnectCapMs,
        CANARY_DEFAULTS.reconnectBaseMs * 2 ** Math.max(0, this.failedConnects - 1)
      );
      // Abortable, so closing the canary never waits out a reconnect delay.
      await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => {});
    }
  }

  /** Reads lines until the stream ends (throws), stops, or a checksum failure asks for a reconnect. */
  private async readStream(): Promise<'reconnect' | 'stopped'> {
    for await (const line of this.reader.lines()) {
      const arrivedAt = Date.now();
      if ('checkpoint' in line || 'checkpoint_diff' in line) this.onCheckpoint(line);
      else if ('data' in line) this.onData(line.data, arrivedAt);
      else if ('token_expires_in' in line)
        this.publish(); // a refresh (or not) shows in the status
      else if ('checkpoint_complete' in line) {
        this.atCompleteCheckpoint = true;
        if (!(await this.onComplete())) return 'reconnect';
      }
    }
    return 'stopped';
  }

  private onCheckpoint(line: SyncLine): void {
    this.atCompleteCheckpoint = false;
    this.lastCheckpointAt = new Date();
    const known = this.expected?.bucketIds;
    if ('checkpoint' in line) {
      // A new connection: after an outage, or with another bucket set, everything is compared again
      // (a token refresh resumes the same state and needs nothing more).
      const buckets = line.checkpoint.buckets.map((b) => b.bucket);
      if (this.streamWasDown) this.tracker.clear();
      if (this.streamWasDown || !known || buckets.length !== known.size || buckets.some((b) => !known.has(b)))
        this.reconcileDue = true;
      this.streamWasDown = false;
    } else if ('checkpoint_diff' in line) {
      const d = line.checkpoint_diff;
      if (d.removed_buckets.length > 0 || d.updated_buckets.some((b) => !known?.has(b.bucket)))
        this.reconcileDue = true;
    }
  }

  private onData(line: DataLine, arrivedAt: number): void {
    for (const op of line.data)
      if (op.object_type && op.object_id) this.touched.add(rowKeyOf(op.object_type, op.object_id));
    this.options.onData?.(line, arrivedAt);
  }

  /** At checkpoint_complete: the checksums, then a comparison. False: reconnect to download failed buckets. */
  private async onComplete(): Promise<boolean> {
    const failed = checkBuckets(this.reader.state).filter((c) => !c.ok);
    if (failed.length > 0) {
      this.checksumFailures++;
      resetBuckets(
        this.reader.state,
        failed.map((c) => c.bucket)
      );
      this.publish();
      return false;
    }
    this.checksumFailures = 0;
    this.failedConnects = 0;
    await this.enqueue(this.evaluate);
    return true;
  }

  /** The stream (reconnect) or the source (retried soon) cannot be read: inconclusive until compared again. */
  private down(result: PhaseResult, part: 'stream' | 'source'): void {
    this.outage = result;
    this.compared = false;
    if (part === 'stream') {
      this.atCompleteCheckpoint = false;
      this.streamWasDown = true;
    } else {
      this.reconcileDue = true;
      const retry = setTimeout(() => this.whenComplete(this.evaluate), CANARY_DEFAULTS.sourceRetryMs);
      this.stop.signal.addEventListener('abort', () => clearTimeout(retry), { once: true });
    }
    this.publish();
  }

  /** Runs `task` after the evaluations before it; a failure of the source is an outage. */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.stop.signal.aborted) return;
      try {
        await task();
      } catch (error) {
        this.down(errorEvent(error), 'source');
      }
    });
    this.queue = run;
    return run;
  }

  /** A timer's evaluation: now if the stream is at a completed checkpoint, else its next one does it. */
  private whenComplete(task: () => Promise<void>): void {
    if (this.atCompleteCheckpoint) void this.enqueue(task);
  }

  private readonly evaluate = (): Promise<void> =>
    this.reconcileDue ? this.reconcile() : this.evaluateTouched();

  /** The user's whole expected state (the rules the service serves) against everything the stream holds. */
  private async reconcile(): Promise<void> {
    const { target, user } = this.options;
    const service = await checkService(target, this.stop.signal);
    if (service.result.event !== 'ok') return this.down(service.result, 'source');
    const rules = loadSyncRules(service.servedRules ?? target.syncRulesYaml, {
      file: target.syncRulesFile,
      version: service.servedVersion
    });
    const state = await computeExpectedState({
      sourceUrl: target.sourceUrl,
      rules,
      userId: user.userId,
      claims: target.extraClaims,
      subscriptions: user.subscriptions,
      statementTimeoutMs: CANARY_DEFAULTS.statementTimeoutMs
    });
    const tables = await withSourceSession(target.sourceUrl, {}, (s) =>
      resolveRuleTables(s.client, rules.hydrated.getSourceTables(), rules.yaml)
    );
    const buckets = state.buckets.map((b) => b.bucket);
    const rows = new Map([...state.rows.values()].map((r) => [rowKeyOf(r.table, r.id), r]));
    state.rows.close();
    this.expected = { rules, tables, buckets, bucketIds: new Set(buckets), rows };
    this.reconcileDue = false;
    this.touched.clear();
    const held = heldRows(this.reader.state);
    const keys = new Set([...rows.keys(), ...held.keys(), ...this.tracker.pending()]);
    this.lastComparison = { kind: 'reconcile', rows: keys.size };
    this.compare(keys, held);
  }

  /** The rows the last checkpoint_diff touched, and the pending differences, re-read from the source. */
  private async evaluateTouched(): Promise<void> {
    const expected = this.expected!;
    const keys = new Set([
      ...this.touched,
      ...this.tracker.pending().filter((k) => !k.startsWith('bucket:'))
    ]);
    this.touched = new Set();
    if (keys.size > 0) {
      const read = await this.readSource((client) =>
        readRowsByKey(client, expected.rules, expected.tables, keys, expected.bucketIds)
      );
      for (const key of keys) {
        const row = read.rows.get(key);
        if (row) expected.rows.set(key, row);
        else expected.rows.delete(key);
      }
    }
    this.lastComparison = { kind: 'touched', rows: keys.size, keys: [...keys].slice(0, LISTED_KEYS) };
    this.compare(keys, heldRows(this.reader.state));
  }

  /** Runs `read` on the kept read-only connection (opened again after a failure). */
  private async readSource<T>(read: (client: pg.Client) => Promise<T>): Promise<T> {
    const { sourceUrl } = this.options.target;
    this.source ??= openReadOnlyConnection(sourceUrl, {
      statementTimeoutMs: CANARY_DEFAULTS.statementTimeoutMs,
      applicationName: 'syncscope-canary'
    });
    const source = this.source;
    try {
      return await read(await source);
    } catch (error) {
      this.source = null;
      void source.then((c) => c.end()).catch(() => {});
      throw toProbeError(error, sourceUrl, CANARY_DEFAULTS.statementTimeoutMs);
    }
  }

  private compare(keys: Set<string>, held: ReturnType<typeof heldRows>): void {
    const expected = this.expected!;
    const now = Date.now();
    this.tracker.observe(now, keys, differingRows(keys, expected.rows, held));
    const buckets = bucketComparison(expected.buckets, this.reader.state);
    this.tracker.observe(now, buckets.checked, buckets.differing);
    this.outage = null;
    this.compared = true;
    this.scheduleSettleCheck();
    this.publish();
  }

  /** When the first pending difference reaches its settle window, everything pending is read again. */
  private scheduleSettleCheck(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    const at = this.tracker.nextSettleAt(this.options.settings.settleMs);
    if (at === null || this.stop.signal.aborted) return;
    this.settleTimer = setTimeout(() => this.whenComplete(this.evaluate), Math.max(0, at - Date.now()) + 10);
  }

  private statusNow(): CanaryStatus {
    const now = Date.now();
    const verdict = canaryVerdict({
      outage: this.outage && { event: this.outage.event, message: this.outage.message ?? '' },
      compared: this.compared,
      consecutiveChecksumFailures: this.checksumFailures,
      persisted: this.tracker.persisted(now, this.options.settings.settleMs)
    });
    return {
      target: this.options.target.name,
      userId: this.options.user.userId,
      ...verdict,
      heldSince: this.heldSince,
      lastCheckpointAt: this.lastCheckpointAt,
      evaluatedAt: new Date(now),
      pendingDifferences: this.tracker.pending().length,
      tokensMinted: this.tokensMinted,
      tokenRefreshes: this.reader.tokenRefreshes,
      lastComparison: this.lastComparison
    };
  }

  private publish(): void {
    this.status = this.statusNow();
    this.options.onStatus?.(this.status);
  }
}
