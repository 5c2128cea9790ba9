/**
 * The light probe's sync: a SyncStreamReader followed the way the client follows its stream, ending in
 * the same outcomes as the full probe's `syncAsUser` (probe-types.ts SyncOutcome), so the lifecycle
 * classifies both alike.
 *
 *   reading ──checkpoint_complete, every bucket's checksum ok──▶ synced (the reader keeps following:
 *      │                                                          the settle window re-diffs its state)
 *      ├─ checksum failure: the failed buckets dropped and downloaded again from 0 (as the client);
 *      │  the second failure ──▶ checksum-failure-loop
 *      ├─ stream ended/broke: resumed from the positions after retryDelayMs; the tenth ──▶ stream-unstable
 *      ├─ refused token / service error / unreachable ──▶ that outcome
 *      ├─ no line for noProgressMs ──▶ no-progress
 *      └─ signal aborted ──▶ aborted
 */
import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import type { SyncOutcome } from '../probe-types.ts';
import { SYNC_AS_USER_DEFAULTS } from '../sync/sync-as-user.ts';
import type { FollowedStream } from '../sync/write-checkpoint-echo.ts';
import {
  type CheckpointLine,
  checkBuckets,
  resetBuckets,
  type SyncLine,
  SyncStreamError,
  SyncStreamReader
} from './sync-stream-reader.ts';

export interface LightSyncOptions {
  endpoint: string;
  token: () => Promise<string>;
  subscriptions?: readonly StreamSubscription[];
  signal: AbortSignal;
  /** The first checkpoint the service sent (or null: the stream failed before one). */
  onFirstCheckpoint?: (checkpoint: CheckpointLine | null) => void;
  onProgress?: (ops: { done: number; total: number | null }) => void;
  noProgressMs?: number;
  retryDelayMs?: number;
}

/** A followed stream: its reader (state), the first outcome, and a way to stop following. */
export interface LightSync extends FollowedStream {
  reader: SyncStreamReader;
  /** Resolves with the first outcome: synced at the first validated checkpoint, or the failure. */
  outcome: Promise<SyncOutcome>;
  /** The first checkpoint line, as sent. */
  firstCheckpoint: CheckpointLine | null;
  /** Stops following (the probe is done). */
  stop(): void;
}

export function followLightSync(options: LightSyncOptions): LightSync {
  const stopper = new AbortController();
  const signal = AbortSignal.any([options.signal, stopper.signal]);
  const reader = new SyncStreamReader({
    endpoint: options.endpoint,
    token: options.token,
    subscriptions: options.subscriptions,
    signal
  });
  const echoes = new WriteCheckpointWaiters(reader);
  const sync: LightSync = {
    reader,
    firstCheckpoint: null,
    outcome: Promise.resolve({ kind: 'aborted' }),
    stop: () => stopper.abort(),
    clientId: reader.clientId,
    // The reader keeps following after the sync: the echo a client with local writes waits for.
    writeCheckpointAtLeast: (id, waitSignal) => echoes.wait(id, waitSignal)
  };
  sync.outcome = follow(sync, { ...options, onLine: () => echoes.check() }, signal);
  return sync;
}

/** Callers waiting for a write checkpoint on a followed stream; checked after each line. */
class WriteCheckpointWaiters {
  private readonly waiting = new Set<{ id: bigint; resolve: (echoed: boolean) => void }>();
  constructor(private readonly reader: SyncStreamReader) {}

  private current(): bigint | null {
    const id = this.reader.state.checkpoint?.writeCheckpoint;
    return id === undefined ? null : BigInt(id);
  }

  wait(id: bigint, signal: AbortSignal): Promise<boolean> {
    const current = this.current();
    if (current !== null && current >= id) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        id,
        resolve: (echoed: boolean) => {
          this.waiting.delete(waiter);
          signal.removeEventListener('abort', aborted);
          resolve(echoed);
        }
      };
      const aborted = () => waiter.resolve(false);
      signal.addEventListener('abort', aborted, { once: true });
      this.waiting.add(waiter);
    });
  }

  check(): void {
    if (this.waiting.size === 0) return;
    const current = this.current();
    if (current === null) return;
    for (const waiter of [...this.waiting]) if (current >= waiter.id) waiter.resolve(true);
  }
}

async function follow(
  sync: LightSync,
  options: LightSyncOptions & { onLine: () => void },
  signal: AbortSignal
): Promise<SyncOutcome> {
  const started = Date.now();
  const noProgressMs = options.noProgressMs ?? SYNC_AS_USER_DEFAULTS.noProgressMs;
  let settle: (outcome: SyncOutcome) => void = () => {};
  const first = new Promise<SyncOutcome>((resolve) => {
    settle = resolve;
  });
  let lastLineAt = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastLineAt > noProgressMs)
      settle({ kind: 'no-progress', seconds: Math.round((Date.now() - lastLineAt) / 1000) });
  }, 250);
  const run = async () => {
    let checksumFailures = 0;
    let streamErrors = 0;
    let synced = false;
    let downloaded = 0;
    for (;;) {
      let reconnect = false;
      try {
        for await (const line of sync.reader.lines()) {
          lastLineAt = Date.now();
          options.onLine();
          const step = onLine(sync, line, options, (n) => {
            downloaded += n;
            return downloaded;
          });
          if (step !== 'complete') continue;
          const failed = checkBuckets(sync.reader.state).filter((c) => !c.ok);
          if (failed.length === 0) {
            synced = true;
            settle({ kind: 'synced', ms: Date.now() - started });
            continue;
          }
          if (++checksumFailures >= SYNC_AS_USER_DEFAULTS.checksumFailures) {
            settle({
              kind: 'checksum-failure-loop',
              failures: checksumFailures,
              buckets: failed.map((c) => c.bucket)
            });
            return;
          }
          resetBuckets(
            sync.reader.state,
            failed.map((c) => c.bucket)
          );
          reconnect = true;
          break;
        }
        if (!reconnect) return; // aborted
      } catch (error) {
        if (!(error instanceof SyncStreamError)) throw error;
        if (error.outcome.kind !== 'stream-ended') {
          settle(error.outcome);
          return;
        }
        if (!synced && ++streamErrors >= SYNC_AS_USER_DEFAULTS.unstableAfterStreamErrors) {
          const seconds = Math.round((Date.now() - started) / 1000);
          settle({ kind: 'stream-unstable', errors: streamErrors, lastError: error.message, seconds });
          return;
        }
        await delay(options.retryDelayMs ?? SYNC_AS_USER_DEFAULTS.retryDelayMs, signal);
      }
      if (signal.aborted) return;
    }
  };
  const running = run().then(
    () => settle({ kind: 'aborted' }),
    (error: unknown) => {
      settle({ kind: 'aborted' });
      throw error;
    }
  );
  running.catch(() => {});
  try {
    const outcome = await Promise.race([first, running.then(() => first)]);
    if (outcome.kind !== 'synced') sync.stop();
    return outcome;
  } finally {
    clearInterval(watchdog);
    if (!sync.firstCheckpoint) options.onFirstCheckpoint?.(null);
  }
}

/** What a line means for the follower; reports the first checkpoint and download progress. */
function onLine(
  sync: LightSync,
  line: SyncLine,
  options: LightSyncOptions,
  addDownloaded: (n: number) => number
): 'complete' | 'other' {
  if ('checkpoint' in line && !sync.firstCheckpoint) {
    sync.firstCheckpoint = line.checkpoint;
    options.onFirstCheckpoint?.(line.checkpoint);
  }
  if ('data' in line && options.onProgress) {
    const total = sync.firstCheckpoint?.buckets.reduce((n, b) => n + b.count, 0) ?? null;
    options.onProgress({ done: addDownloaded(line.data.data.length), total });
  }
  return 'checkpoint_complete' in line ? 'complete' : 'other';
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
