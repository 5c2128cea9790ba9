/**
 * The probe's own sync session: the real @powersync/node client, syncing as the impersonated user into a
 * throw-away database, stopped with a verdict instead of hanging.
 *
 *   preflight (one request, first line) ──401──▶ auth-rejected
 *        │                              ──other HTTP error with the service's code──▶ service-error
 *        │                              ──refused/timeout──▶ unreachable
 *        ▼
 *   client connect ──▶ downloading ──checkpoint applied──▶ synced
 *        │  2 checksum failures ──▶ checksum-failure-loop
 *        │  no new ops for noProgressMs ──▶ no-progress, or stream-unstable if the client's stream kept failing
 *        │  (a stream cut once is retried by the client itself and ends synced)
 *        └  signal aborted (the probe's deadline, a lost job lease) ──▶ aborted
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type LogRecord, PowerSyncDatabase, Schema, type SyncStreamSubscription } from '@powersync/node';
import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import type { SyncOutcome } from '../probe-types.ts';
import { ClientDatabase } from './client-database.ts';

export const SYNC_AS_USER_DEFAULTS = {
  noProgressMs: 15_000,
  preflightTimeoutMs: 10_000,
  /** Checksum failures that make a loop (the client retries about every retryDelayMs). */
  checksumFailures: 2,
  /**
   * Stream failures without a completed checkpoint that make a stream unstable: the client reconnects
   * about every retryDelayMs, so a single cut (or a few) still ends synced.
   */
  unstableAfterStreamErrors: 10,
  retryDelayMs: 1_000,
  /** Time without progress, with the client reporting download errors, before checking reachability. */
  unreachableCheckMs: 2_000
} as const;

export interface CheckpointLine {
  last_op_id: string;
  buckets: { bucket: string; checksum: number; count: number }[];
}

export interface SyncAsUserResult {
  outcome: SyncOutcome;
  /** The first checkpoint the service sent (from the preflight), when there was one. */
  preflightCheckpoint: CheckpointLine | null;
  /**
   * The client's database through a read-only connection (its buckets; the diff reads its op log),
   * when the session got far enough to read it; the client keeps syncing until close().
   */
  client: ClientDatabase | null;
  close(): Promise<void>;
}

export interface SyncAsUserOptions {
  endpoint: string;
  /** The client's schema; a promise is awaited while the preflight runs. */
  schema: Schema | Promise<Schema>;
  token: () => Promise<string>;
  /** Sync streams the client subscribes to before it connects, besides the default streams. */
  subscriptions?: StreamSubscription[];
  noProgressMs?: number;
  /** Called when the service has accepted the token, with the first checkpoint it sent. */
  onPreflight?: (checkpoint: CheckpointLine | null) => void;
  /** Operations downloaded so far of the checkpoint's total, as the client reports them. */
  onProgress?: (ops: { done: number; total: number | null }) => void;
  /** Stops the watch promptly (the probe's deadline or a lost job lease): the outcome is `aborted`. */
  signal?: AbortSignal;
}

type Preflight = { ok: true; checkpoint: CheckpointLine | null } | { ok: false; outcome: SyncOutcome };

/** A sync request's `streams`, as the client sends it: the default streams and these subscriptions. */
export function syncRequestStreams(subscriptions: readonly StreamSubscription[]) {
  return {
    include_defaults: true,
    subscriptions: subscriptions.map((s) => ({
      stream: s.stream,
      parameters: s.parameters,
      override_priority: s.priority
    }))
  };
}

/**
 * One stream request, read up to its first line: tells auth and reachability problems apart cleanly.
 * It asks for the client's subscriptions, so its checkpoint covers the same buckets.
 */
async function preflight(
  endpoint: string,
  token: string,
  subscriptions: readonly StreamSubscription[]
): Promise<Preflight> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), SYNC_AS_USER_DEFAULTS.preflightTimeoutMs);
  try {
    const response = await fetch(`${endpoint}/sync/stream`, {
      method: 'POST',
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        buckets: [],
        include_checksum: true,
        raw_data: true,
        client_id: 'syncscope-probe-preflight',
        streams: syncRequestStreams(subscriptions)
      }),
      signal: controller.signal
    });
    if (response.status === 401 || response.status === 403) {
      const body = (await response.json().catch(() => ({}))) as {
        error?: { code?: string; description?: string };
      };
      return {
        ok: false,
        outcome: {
          kind: 'auth-rejected',
          httpStatus: response.status,
          code: body.error?.code,
          message: body.error?.description ?? `HTTP ${response.status}`
        }
      };
    }
    if (!response.ok || !response.body) return { ok: false, outcome: await serviceError(response) };
    const reader = response.body.getReader();
    let text = '';
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const first = text.split('\n')[0];
    const line = first
      ? (JSON.parse(first) as { checkpoint?: CheckpointLine; token_expires_in?: number })
      : {};
    if (line.token_expires_in === 0)
      return { ok: false, outcome: { kind: 'token-expiring', secondsLeft: 0 } };
    return { ok: true, checkpoint: line.checkpoint ?? null };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const message = controller.signal.aborted
      ? `no answer from ${endpoint} within ${SYNC_AS_USER_DEFAULTS.preflightTimeoutMs / 1000} s`
      : `cannot reach ${endpoint}${cause ? ` (${cause})` : ''}: ${(error as Error).message}`;
    return { ok: false, outcome: { kind: 'unreachable', message } };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A stream request the service refused with another status: the service 1.25 answers PSYNC_S2305 (bucket
 * limit) as HTTP 500 with `{"error":{"code","description"}}` and no NDJSON; without such a body it is
 * a proxy or a service in trouble.
 */
export async function serviceError(response: Response): Promise<SyncOutcome> {
  const body = (await response.json().catch(() => ({}))) as {
    error?: { code?: string; description?: string };
  };
  if (typeof body.error?.code === 'string') {
    return {
      kind: 'service-error',
      httpStatus: response.status,
      code: body.error.code,
      message: body.error.description ?? `HTTP ${response.status}`
    };
  }
  return { kind: 'unreachable', message: `the sync service answered HTTP ${response.status}` };
}

export async function syncAsUser(options: SyncAsUserOptions): Promise<SyncAsUserResult> {
  const started = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-probe-'));
  const failedBuckets = new Set<string>();
  let checksumFailures = 0;
  // Each failed stream iteration (the client logs it once, then reconnects on its own).
  let streamErrors = 0;
  let lastStreamError: string | null = null;
  const logger = {
    log(record: LogRecord) {
      const match = /Checksums didn't match, failed for: (.*?) \(expected/.exec(record.message);
      if (match) {
        checksumFailures++;
        for (const b of match[1]!.split(', ')) failedBuckets.add(b);
      }
      if (record.message === 'Sync error') {
        streamErrors++;
        const error = record.error as { message?: unknown } | undefined;
        lastStreamError = typeof error?.message === 'string' ? error.message : String(record.error);
      }
    }
  };
  const db = new PowerSyncDatabase({
    schema: new Schema({}),
    database: { dbFilename: 'probe.db', dbLocation: dir, readWorkerCount: 1 },
    logger
  });
  let client: ClientDatabase | null = null;
  const subscribed: SyncStreamSubscription[] = [];
  const subscriptions = options.subscriptions ?? [];
  const close = async () => {
    for (const handle of subscribed) handle.unsubscribe();
    client?.close();
    await db.disconnect().catch(() => {});
    await db.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  // The database opens (its worker, the core extension, its migrations) while the preflight asks the
  // service and the schema is derived: opening is most of a small sync's time.
  let first: Preflight;
  try {
    const [checked, schema] = await Promise.all([
      options
        .token()
        .then((token) => preflight(options.endpoint, token, subscriptions))
        .then((checked) => {
          if (checked.ok) options.onPreflight?.(checked.checkpoint);
          return checked;
        }),
      options.schema,
      db.init()
    ]);
    first = checked;
    if (first.ok) await db.updateSchema(schema);
  } catch (error) {
    await close();
    throw error;
  }
  if (!first.ok) {
    await close();
    return { outcome: first.outcome, preflightCheckpoint: null, client: null, close: async () => {} };
  }
  try {
    // Subscribed before connecting, so the client's first request already carries them.
    for (const s of subscriptions) {
      const stream = db.syncStream(s.stream, s.parameters ?? undefined);
      subscribed.push(await stream.subscribe(s.priority === null ? undefined : { priority: s.priority }));
    }
    await db.connect(
      {
        fetchCredentials: async () => ({ endpoint: options.endpoint, token: await options.token() }),
        uploadData: async () => {}
      },
      { retryDelayMs: SYNC_AS_USER_DEFAULTS.retryDelayMs }
    );
    const outcome = await watch(db, options, started, () => ({
      checksumFailures,
      failedBuckets: [...failedBuckets],
      streamErrors,
      lastStreamError
    }));
    if (outcome.kind === 'synced' || outcome.kind === 'no-progress')
      client = new ClientDatabase(path.join(dir, 'probe.db'));
    return { outcome, preflightCheckpoint: first.checkpoint, client, close };
  } catch (error) {
    // The throw-away database holds the user's rows: it goes whatever failed.
    await close();
    throw error;
  }
}

async function watch(
  db: PowerSyncDatabase,
  options: SyncAsUserOptions,
  started: number,
  failures: () => {
    checksumFailures: number;
    failedBuckets: string[];
    streamErrors: number;
    lastStreamError: string | null;
  }
): Promise<SyncOutcome> {
  const noProgressMs = options.noProgressMs ?? SYNC_AS_USER_DEFAULTS.noProgressMs;
  // Every status change while downloading (a data line applied, a checkpoint) counts as progress; no
  // polling of the client's database, which would compete with its writer.
  let lastProgressAt = Date.now();
  let lastReachabilityCheck = 0;
  let wake = () => {};
  options.signal?.addEventListener('abort', () => wake(), { once: true });
  const dispose = db.registerListener({
    statusChanged: (status) => {
      lastProgressAt = Date.now();
      if (status.hasSynced) wake(); // the verdict waits for this moment, not for the next poll
      const progress = status.downloadProgress;
      if (progress && options.onProgress)
        options.onProgress({ done: progress.downloadedOperations, total: progress.totalOperations });
    }
  });
  try {
    return await watchLoop();
  } finally {
    dispose();
  }

  /**
   * A stream that failed again and again may be a service that went away: the client's reconnect
   * attempts are status changes too, so the quiet-time check above may never have run. Ask once more.
   */
  async function unlessUnreachable(unstable: SyncOutcome): Promise<SyncOutcome> {
    const check = await preflight(options.endpoint, await options.token(), options.subscriptions ?? []);
    return check.ok ? unstable : check.outcome;
  }

  async function watchLoop(): Promise<SyncOutcome> {
    for (;;) {
      if (db.currentStatus.hasSynced) return { kind: 'synced', ms: Date.now() - started };
      if (options.signal?.aborted) return { kind: 'aborted' };
      const f = failures();
      if (f.streamErrors >= SYNC_AS_USER_DEFAULTS.unstableAfterStreamErrors) {
        const seconds = Math.round((Date.now() - started) / 1000);
        return unlessUnreachable({
          kind: 'stream-unstable',
          errors: f.streamErrors,
          lastError: f.lastStreamError ?? '',
          seconds
        });
      }
      if (f.checksumFailures >= SYNC_AS_USER_DEFAULTS.checksumFailures) {
        return { kind: 'checksum-failure-loop', failures: f.checksumFailures, buckets: f.failedBuckets };
      }
      // A client that keeps failing to connect: ask the service directly whether it is still there.
      const quiet = Date.now() - Math.max(lastProgressAt, lastReachabilityCheck);
      if (
        db.currentStatus.dataFlowStatus?.downloadError &&
        quiet > SYNC_AS_USER_DEFAULTS.unreachableCheckMs
      ) {
        lastReachabilityCheck = Date.now();
        const check = await preflight(options.endpoint, await options.token(), options.subscriptions ?? []);
        if (!check.ok) return check.outcome;
      }
      if (Date.now() - lastProgressAt > noProgressMs) {
        const seconds = Math.round((Date.now() - lastProgressAt) / 1000);
        return f.lastStreamError
          ? unlessUnreachable({
              kind: 'stream-unstable',
              errors: f.streamErrors,
              lastError: f.lastStreamError,
              seconds
            })
          : { kind: 'no-progress', seconds };
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 25);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
