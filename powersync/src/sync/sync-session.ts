/**
 * One client's sync stream, as the PowerSync service runs it.
 *
 *   connect ──▶ wait for initial replication ──▶ [resolve buckets ─▶ checkpoint | checkpoint_diff
 *        ─▶ data lines (per priority, paged with has_more) ─▶ (partial_)checkpoint_complete]
 *        ──▶ wait: new storage checkpoint ─▶ loop | keepalive ─▶ token_expires_in | token expired ─▶ end
 *
 * Keepalives keep their own clock, as the service's `tokenStream` does beside the checkpoint stream: every
 * `keepaliveMs` and once `expiryWarningMs` before the token expires, whether or not data is flowing. The
 * client fetches a new token and reconnects at once when it sees `token_expires_in` ≤ 30; a stream that only
 * says so when idle would, under steady changes, end at the expiry with `{"token_expires_in":0}`, and the
 * client would then wait its retry delay (5 s) before reconnecting.
 *
 * Lines are yielded as objects; the route serialises them as NDJSON.
 */
import type { HydratedSyncConfig, ResolvedBucket } from '@powersync/service-sync-rules';
import type { Logger } from '@syncscope/core';
import type { FaultInjector } from '../faults/faults.ts';
import type { BucketChecksum, BucketStorage } from '../storage/bucket-storage.ts';
import type { BucketLimits, DefinitionKind } from './bucket-limits.ts';
import { type ConnectionStreams, createBucketResolver } from './bucket-resolver.ts';
import { type BucketSubscription, bucketSubscriptions, describeStreams } from './checkpoint-streams.ts';

export const SYNC_DEFAULTS = {
  /** Ops per `data` line (the service's storage batch limit). */
  opsPerDataLine: 1000,
  /** Data lines fetched from storage per query. */
  dataLinesPerQuery: 10,
  /** Keepalive (`token_expires_in`) interval. */
  keepaliveMs: 20_000,
  /** An extra keepalive this long before the token expires (the service's `expire_warning_period`). */
  expiryWarningMs: 20_000,
  /** Coalesce bursts of storage checkpoints. */
  checkpointDebounceMs: 5
} as const;

/** The rules version a session serves: fixed for the session (a switch of versions ends it). */
export interface ServedRules {
  storage: BucketStorage;
  rules: HydratedSyncConfig;
  definitionKind: DefinitionKind;
}

export interface SyncSessionDeps extends ServedRules {
  faults: FaultInjector;
  logger: Logger;
  limits: BucketLimits;
  onOpsSent: (ops: number, bytes: number) => void;
  /** Keepalive interval; tests shorten it. */
  keepaliveMs?: number;
}

export interface SyncSessionRequest {
  userId: string;
  tokenPayload: Record<string, unknown>;
  tokenExpiresAt: number;
  clientId: string | undefined;
  clientParameters: Record<string, unknown>;
  buckets: { name: string; after: string | number }[];
  streams: ConnectionStreams;
}

interface BucketEntry {
  bucket: string;
  checksum: number;
  count: number;
  priority: number;
  subscriptions: BucketSubscription[];
}

/** A line the storage already serialized (data pages): written as is. */
export class SerializedLine {
  constructor(readonly text: string) {}
}

export type SyncLine = Record<string, unknown> | SerializedLine;

/** Resolves after `ms` or on abort, leaving no listener behind. */
function sleep(ms: number, signal: AbortSignal, wake?: (resolve: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    wake?.(done);
  });
}

export async function* syncSession(
  deps: SyncSessionDeps,
  req: SyncSessionRequest,
  signal: AbortSignal
): AsyncGenerator<SyncLine> {
  const { storage, rules, faults, logger } = deps;
  const positions = new Map<string, bigint>(req.buckets.map((b) => [b.name, BigInt(b.after)]));
  const resolver = createBucketResolver(
    rules,
    storage,
    req.tokenPayload,
    req.clientParameters,
    req.streams,
    deps.limits,
    deps.definitionKind
  );
  // Fixed for the connection: its subscriptions cannot change without a new request.
  const streams = describeStreams(rules, req.streams, resolver.errors);
  const streamIndex = new Map(streams.map((s, i) => [s.name, i]));
  let sent: Map<string, BucketEntry> | null = null;
  let sentWriteCheckpoint: bigint | null = null;

  const wake = createWaker(storage, faults, signal, req.userId);
  const keepalive = createKeepaliveClock(req.tokenExpiresAt, deps.keepaliveMs ?? SYNC_DEFAULTS.keepaliveMs);
  try {
    while (!signal.aborted) {
      const secondsLeft = Math.ceil(req.tokenExpiresAt - Date.now() / 1000);
      if (secondsLeft <= 0) {
        yield { token_expires_in: 0 };
        return;
      }
      // Past a PSYNC_S2305 limit this throws BucketLimitError; the route answers as the service does.
      const resolved: ResolvedBucket[] = await resolver.resolve();
      const { checkpoint, checksums } = await storage.readCheckpointWithChecksums(
        resolved.map((b) => b.bucket)
      );
      const adjusted = await applyChecksumFaults(deps, checksums, checkpoint.lastOpId);
      const entries = new Map<string, BucketEntry>();
      for (const b of resolved) {
        const c = adjusted.get(b.bucket) ?? { checksum: 0, count: 0 };
        entries.set(b.bucket, {
          bucket: b.bucket,
          checksum: c.checksum,
          count: c.count,
          priority: b.priority,
          subscriptions: bucketSubscriptions(b, streamIndex)
        });
      }
      const writeCheckpoint = faults.current.neverEchoWriteCheckpoints
        ? null
        : await storage.latestCompletedWriteCheckpoint(req.userId, checkpoint.lsn);
      const writeCheckpointChanged = writeCheckpoint !== null && writeCheckpoint !== sentWriteCheckpoint;
      const lastOpId = checkpoint.lastOpId.toString();

      let toFetch: BucketEntry[];
      if (sent === null) {
        for (const [name, after] of positions) {
          if (after > checkpoint.lastOpId) {
            logger.warn(
              { user: req.userId, bucket: name, after: after.toString(), lastOpId },
              'client holds a bucket beyond the last op id; its checksum will fail and it will re-sync'
            );
          }
        }
        yield {
          checkpoint: {
            last_op_id: lastOpId,
            ...(writeCheckpoint !== null ? { write_checkpoint: writeCheckpoint.toString() } : {}),
            buckets: [...entries.values()],
            streams
          }
        };
        toFetch = [...entries.values()];
      } else {
        const updated = [...entries.values()].filter((e) => {
          const before = sent!.get(e.bucket);
          return (
            !before ||
            before.checksum !== e.checksum ||
            before.count !== e.count ||
            before.priority !== e.priority
          );
        });
        const removed = [...sent.keys()].filter((name) => !entries.has(name));
        if (updated.length === 0 && removed.length === 0 && !writeCheckpointChanged) {
          sent = entries;
          if (!(yield* waitForChange(wake, keepalive, signal))) return;
          continue;
        }
        yield {
          checkpoint_diff: {
            last_op_id: lastOpId,
            ...(writeCheckpoint !== null ? { write_checkpoint: writeCheckpoint.toString() } : {}),
            removed_buckets: removed,
            updated_buckets: updated
          }
        };
        for (const name of removed) positions.delete(name);
        toFetch = updated;
      }
      sent = entries;
      sentWriteCheckpoint = writeCheckpoint ?? sentWriteCheckpoint;

      const completed = yield* sendData(deps, toFetch, positions, checkpoint.lastOpId, keepalive, signal);
      if (!completed) return;
      if (!(yield* waitForChange(wake, keepalive, signal))) return;
    }
  } finally {
    wake.close();
  }
}

/**
 * Waits for new data, sending the keepalives that fall due meanwhile, also when data woke the wait (under
 * steady changes it always does). Returns false when the stream must end (token expired, connection closed).
 */
async function* waitForChange(
  wake: Waker,
  keepalive: KeepaliveClock,
  signal: AbortSignal
): AsyncGenerator<SyncLine, boolean> {
  for (;;) {
    const woke = await wake.next(keepalive.msUntilDue());
    if (signal.aborted) return false;
    const line = keepalive.take();
    if (line) {
      yield line;
      if (line.token_expires_in <= 0) return false;
    }
    if (woke) return true;
  }
}

type KeepaliveClock = ReturnType<typeof createKeepaliveClock>;

/**
 * When `token_expires_in` lines are due: every `keepaliveMs` from the connect (none at the connect itself,
 * as the service), once `expiryWarningMs` before the expiry, and at the expiry (0, the last line).
 */
function createKeepaliveClock(tokenExpiresAt: number, keepaliveMs: number) {
  const expiresAtMs = tokenExpiresAt * 1000;
  const warningAtMs = expiresAtMs - SYNC_DEFAULTS.expiryWarningMs;
  let nextAtMs = Date.now() + keepaliveMs;
  let warned = Date.now() >= warningAtMs;
  const dueAt = () => Math.min(nextAtMs, warned ? expiresAtMs : warningAtMs, expiresAtMs);
  return {
    msUntilDue: () => Math.max(0, dueAt() - Date.now()),
    /** The line due now, if one is, and the clock moved on past it. */
    take(): { token_expires_in: number } | null {
      const now = Date.now();
      if (now < dueAt()) return null;
      nextAtMs = now + keepaliveMs;
      if (now >= warningAtMs) warned = true;
      return { token_expires_in: Math.max(0, Math.ceil(tokenExpiresAt - now / 1000)) };
    }
  };
}

/** Data for the buckets, highest priority (lowest number) first; a partial completion after each priority but the last. */
async function* sendData(
  deps: SyncSessionDeps,
  buckets: BucketEntry[],
  positions: Map<string, bigint>,
  upTo: bigint,
  keepalive: KeepaliveClock,
  signal: AbortSignal
): AsyncGenerator<SyncLine, boolean> {
  const priorities = [...new Set(buckets.map((b) => b.priority))].sort((a, b) => a - b);
  let linesSent = 0;
  for (const [index, priority] of priorities.entries()) {
    for (const entry of buckets.filter((b) => b.priority === priority)) {
      let after = positions.get(entry.bucket) ?? 0n;
      const { opsPerDataLine, dataLinesPerQuery } = SYNC_DEFAULTS;
      const read = (from: bigint) =>
        deps.storage.readOpsPages(
          entry.bucket,
          from,
          upTo,
          opsPerDataLine,
          dataLinesPerQuery,
          deps.faults.current.omitRows
        );
      let pages = await read(after);
      while (pages.length > 0) {
        const moreAfterBatch = pages.reduce((n, p) => n + p.count, 0) === opsPerDataLine * dataLinesPerQuery;
        // Fetch the next batch while this one is written to the client.
        const next = moreAfterBatch ? read(pages.at(-1)!.lastOpId) : null;
        next?.catch(() => {});
        for (const [i, page] of pages.entries()) {
          if (signal.aborted) return false;
          const hasMore = i < pages.length - 1 || moreAfterBatch;
          yield new SerializedLine(
            `{"data":{"bucket":${JSON.stringify(entry.bucket)},"after":"${after}","has_more":${hasMore},"data":${page.opsJson},"next_after":"${page.lastOpId}"}}`
          );
          linesSent++;
          deps.onOpsSent(page.sent, page.dataBytes);
          after = page.lastOpId;
          positions.set(entry.bucket, after);
          if (deps.faults.current.dropStreamMidCheckpoint && linesSent >= 1) {
            deps.logger.warn('fault: dropping the stream mid-checkpoint');
            throw new StreamDroppedByFault();
          }
          // As the service, whose token stream is merged with the data: a download that outlasts the
          // token hears so between data lines, and ends at the expiry (the client resumes with a new one).
          const due = keepalive.take();
          if (due) {
            yield due;
            if (due.token_expires_in <= 0) return false;
          }
        }
        pages = next ? await next : [];
      }
    }
    const last = index === priorities.length - 1;
    if (!last) yield { partial_checkpoint_complete: { last_op_id: upTo.toString(), priority } };
  }
  yield { checkpoint_complete: { last_op_id: upTo.toString() } };
  return true;
}

export class StreamDroppedByFault extends Error {
  constructor() {
    super('stream dropped by fault injection');
  }
}

/** Omitted rows leave the checksum consistent (the client just lacks them); corrupted buckets are off by one. */
async function applyChecksumFaults(
  deps: SyncSessionDeps,
  checksums: Map<string, BucketChecksum>,
  upTo: bigint
): Promise<Map<string, { checksum: number; count: number }>> {
  const { omitRows, corruptChecksums } = deps.faults.current;
  const out = new Map<string, { checksum: number; count: number }>();
  for (const [bucket, c] of checksums) out.set(bucket, { checksum: c.checksum, count: c.count });
  for (const row of omitRows) {
    const omitted = await deps.storage.sumPutOps([...checksums.keys()], row.table, row.id, upTo);
    for (const [bucket, o] of omitted) {
      const c = out.get(bucket);
      if (c) out.set(bucket, { checksum: (c.checksum - o.checksum) | 0, count: c.count - o.count });
    }
  }
  for (const bucket of corruptChecksums) {
    const c = out.get(bucket);
    if (c) out.set(bucket, { checksum: (c.checksum + 1) | 0, count: c.count });
  }
  return out;
}

type Waker = ReturnType<typeof createWaker>;

/** Wakes the session on a new storage checkpoint, a fault change, or a keepalive. */
function createWaker(storage: BucketStorage, faults: FaultInjector, signal: AbortSignal, userId: string) {
  let pending = false;
  let notify: (() => void) | null = null;
  const onEvent = () => {
    pending = true;
    notify?.();
  };
  const onWriteCheckpoint = (user: string) => {
    if (user === userId) onEvent();
  };
  storage.on('checkpoint', onEvent);
  storage.on('write-checkpoint', onWriteCheckpoint);
  faults.on('changed', onEvent);
  return {
    /** Resolves true on new data, false after `timeoutMs` without any. */
    async next(timeoutMs: number): Promise<boolean> {
      if (!pending) {
        await sleep(timeoutMs, signal, (done) => {
          notify = done;
        });
        notify = null;
      }
      const woke = pending;
      pending = false;
      if (woke) await sleep(SYNC_DEFAULTS.checkpointDebounceMs, signal);
      return woke;
    },
    close() {
      storage.off('checkpoint', onEvent);
      storage.off('write-checkpoint', onWriteCheckpoint);
      faults.off('changed', onEvent);
    }
  };
}
