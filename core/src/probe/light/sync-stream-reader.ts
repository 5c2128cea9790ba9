/**
 * `/sync/stream` read at the protocol level, without a client database: what the light probe and the
 * live canaries build on. One reader is one user's stream; `lines()` opens it and yields the service's
 * lines as typed objects, each applied to the reader's per-bucket state first (`applySyncLine`, pure).
 *
 *   open (POST, token from the provider, bucket positions) ──401/403──▶ SyncStreamError auth-rejected
 *     │                                                    ──HTTP error──▶ service-error | unreachable
 *     ▼
 *   lines: checkpoint | checkpoint_diff | data | (partial_)checkpoint_complete | token_expires_in
 *     │  token_expires_in ≤ 30: a new token and a new request from the current positions (as the client)
 *     │  the body ends or breaks ──▶ SyncStreamError stream-ended (call lines() again: it resumes)
 *     └  signal aborted ──▶ the iteration ends
 *
 * Per bucket it keeps what the client's op log keeps: the live row of each (table, id, subkey), the
 * running checksum (the wrapping int32 sum of every operation since the last CLEAR, which resets it to
 * its own), the operations applied and the position (`next_after`) a reconnect resumes from.
 */

import { addChecksums } from '../../checksums/op-checksum.ts';
import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import type { SyncOutcome } from '../probe-types.ts';
import { serviceError, syncRequestStreams } from '../sync/sync-as-user.ts';

export interface CheckpointBucket {
  bucket: string;
  checksum: number;
  count: number;
  priority?: number;
}

export interface CheckpointLine {
  last_op_id: string;
  write_checkpoint?: string;
  buckets: CheckpointBucket[];
  streams?: { name: string; is_default: boolean; errors: unknown[] }[];
}

export interface CheckpointDiffLine {
  last_op_id: string;
  write_checkpoint?: string;
  removed_buckets: string[];
  updated_buckets: CheckpointBucket[];
}

export interface OplogEntry {
  op_id: string;
  op: 'PUT' | 'REMOVE' | 'MOVE' | 'CLEAR';
  object_type?: string;
  object_id?: string;
  subkey?: string;
  /** Signed or unsigned 32-bit: only its wrapping sum matters. */
  checksum: number;
  data?: string | null;
}

export interface DataLine {
  bucket: string;
  after: string;
  has_more: boolean;
  next_after: string;
  data: OplogEntry[];
}

export type SyncLine =
  | { checkpoint: CheckpointLine }
  | { checkpoint_diff: CheckpointDiffLine }
  | { data: DataLine }
  | { checkpoint_complete: { last_op_id: string } }
  | { partial_checkpoint_complete: { last_op_id: string; priority: number } }
  | { token_expires_in: number };

/** A row the bucket holds: its latest PUT for (table, id, subkey). */
export interface LiveRow {
  table: string;
  id: string;
  /** The row JSON exactly as sent. */
  data: string;
  /** The PUT's checksum, unsigned. */
  checksum: number;
}

export interface BucketState {
  bucket: string;
  /** The position a reconnect resumes from (the last `next_after`; "0" for none). */
  after: string;
  /** Wrapping int32 sum of the operations since the last CLEAR, as the client adds them. */
  checksum: number;
  /** Operations applied since the last CLEAR (or since the reader started, when it resumed). */
  operations: number;
  /**
   * Whether `operations` is comparable with the checkpoint's count: downloaded from 0 by this reader and
   * never compacted (the service's count keeps counting the operations a CLEAR replaced: the capture after
   * `compact` sends 10 of a count of 14).
   */
  countable: boolean;
  /** Live rows by `table/id/subkey`. */
  rows: Map<string, LiveRow>;
}

export interface StreamState {
  /** The checkpoint the service is sending, with the diffs since applied; null before the first. */
  checkpoint: { lastOpId: string; writeCheckpoint?: string; buckets: Map<string, CheckpointBucket> } | null;
  buckets: Map<string, BucketState>;
  /** The last op id of the last completed checkpoint (null: none completed yet). */
  completed: string | null;
  /** Priorities completed for the current checkpoint (partial completions). */
  completedPriorities: Set<number>;
}

export interface BucketCheck {
  bucket: string;
  /** Checksums as unsigned 32-bit numbers. */
  expectedChecksum: number;
  actualChecksum: number;
  expectedCount: number;
  operations: number;
  /** Whether the checksums agree: what the client decides by. */
  ok: boolean;
  /** Whether the counts agree too (null: not comparable, see BucketState.countable). The client ignores counts. */
  countOk: boolean | null;
}

/** A bucket the caller already holds: where it resumes, and its checksum so far (0 if not given). */
export interface BucketPosition {
  name: string;
  after: string;
  checksum?: number;
}

export function emptyStreamState(positions: readonly BucketPosition[] = []): StreamState {
  return {
    checkpoint: null,
    buckets: new Map(
      positions.map((p) => [p.name, { ...newBucket(p.name, p.after), checksum: p.checksum ?? 0 }])
    ),
    completed: null,
    completedPriorities: new Set()
  };
}

function newBucket(bucket: string, after = '0'): BucketState {
  return { bucket, after, checksum: 0, operations: 0, countable: after === '0', rows: new Map() };
}

const rowKey = (op: OplogEntry) => `${op.object_type}/${op.object_id}/${op.subkey ?? ''}`;

function applyOperation(state: BucketState, op: OplogEntry): void {
  switch (op.op) {
    case 'CLEAR':
      state.rows.clear();
      state.checksum = op.checksum | 0;
      state.operations = 1;
      state.countable = false;
      return;
    case 'PUT':
      state.rows.set(rowKey(op), {
        table: op.object_type!,
        id: op.object_id!,
        data: op.data ?? 'null',
        checksum: op.checksum >>> 0
      });
      break;
    case 'REMOVE':
      state.rows.delete(rowKey(op));
      break;
    case 'MOVE':
      break;
  }
  state.checksum = addChecksums(state.checksum, op.checksum);
  state.operations++;
}

function applyData(state: StreamState, line: DataLine): void {
  let bucket = state.buckets.get(line.bucket);
  if (!bucket) {
    bucket = newBucket(line.bucket);
    state.buckets.set(line.bucket, bucket);
  }
  for (const op of line.data) applyOperation(bucket, op);
  bucket.after = line.next_after;
}

/** Applies one line to the state, as the client applies it to its database. */
export function applySyncLine(state: StreamState, line: SyncLine): void {
  if ('checkpoint' in line) {
    const c = line.checkpoint;
    const buckets = new Map(c.buckets.map((b) => [b.bucket, b]));
    // The client deletes the buckets a new checkpoint no longer lists.
    for (const name of state.buckets.keys()) if (!buckets.has(name)) state.buckets.delete(name);
    state.checkpoint = { lastOpId: c.last_op_id, writeCheckpoint: c.write_checkpoint, buckets };
    state.completedPriorities.clear();
  } else if ('checkpoint_diff' in line) {
    const d = line.checkpoint_diff;
    const buckets = new Map(state.checkpoint?.buckets);
    for (const name of d.removed_buckets) {
      buckets.delete(name);
      state.buckets.delete(name);
    }
    for (const b of d.updated_buckets) buckets.set(b.bucket, b);
    state.checkpoint = {
      lastOpId: d.last_op_id,
      writeCheckpoint: d.write_checkpoint ?? state.checkpoint?.writeCheckpoint,
      buckets
    };
    state.completedPriorities.clear();
  } else if ('data' in line) {
    applyData(state, line.data);
  } else if ('checkpoint_complete' in line) {
    state.completed = line.checkpoint_complete.last_op_id;
  } else if ('partial_checkpoint_complete' in line) {
    state.completedPriorities.add(line.partial_checkpoint_complete.priority);
  }
}

/**
 * The checkpoint's buckets (those of priority ≤ `priority`, for a partial completion) against what was
 * applied: the client's checksum validation at a (partial) checkpoint_complete.
 */
export function checkBuckets(state: StreamState, priority?: number): BucketCheck[] {
  const checks: BucketCheck[] = [];
  for (const b of state.checkpoint?.buckets.values() ?? []) {
    if (priority !== undefined && (b.priority ?? 3) > priority) continue;
    const held = state.buckets.get(b.bucket);
    const actual = held?.checksum ?? 0;
    const operations = held?.operations ?? 0;
    const countable = held?.countable ?? true;
    checks.push({
      bucket: b.bucket,
      expectedChecksum: b.checksum >>> 0,
      actualChecksum: actual >>> 0,
      expectedCount: b.count,
      operations,
      ok: (b.checksum | 0) === (actual | 0),
      countOk: countable ? b.count === operations : null
    });
  }
  return checks;
}

/** After a checksum failure the client deletes the failed buckets and downloads them again from 0. */
export function resetBuckets(state: StreamState, names: readonly string[]): void {
  for (const name of names) state.buckets.delete(name);
  state.completed = null;
}

/** Why a stream could not be read: the probe's sync outcomes, and a stream that ended or broke. */
export class SyncStreamError extends Error {
  constructor(
    readonly outcome: SyncOutcome | { kind: 'stream-ended'; message: string },
    options?: { cause?: unknown }
  ) {
    super('message' in outcome ? outcome.message : outcome.kind, options);
  }
}

export const SYNC_STREAM_READER_DEFAULTS = {
  /** The client fetches a new token and reconnects when the service says this many seconds remain. */
  refreshTokenAtSeconds: 30,
  /** How long the service may take to answer the request (headers). */
  connectTimeoutMs: 10_000
} as const;

export interface SyncStreamReaderOptions {
  endpoint: string;
  /** Called at every (re)connect; returns a token valid for at least a minute (the probe's `mint`). */
  token: () => Promise<string>;
  subscriptions?: readonly StreamSubscription[];
  /** Buckets the caller already holds: the stream resumes them from these positions. */
  positions?: readonly BucketPosition[];
  clientId?: string;
  signal?: AbortSignal;
}

/** One user's sync stream and the state its lines built; see the top of this file. */
export class SyncStreamReader {
  readonly state: StreamState;
  /** Requests opened (the first, token refreshes, resumes). */
  connects = 0;
  /** Tokens refreshed on the service's `token_expires_in`. */
  tokenRefreshes = 0;

  constructor(private readonly options: SyncStreamReaderOptions) {
    this.state = emptyStreamState(options.positions);
  }

  /** The client id the requests send (write checkpoints asked for as this client are echoed on it). */
  get clientId(): string {
    return this.options.clientId ?? 'syncscope-light-probe';
  }

  /** The positions a request sends: every held bucket's `after` (and checksum, to resume elsewhere). */
  positions(): Required<BucketPosition>[] {
    return [...this.state.buckets.values()].map((b) => ({
      name: b.bucket,
      after: b.after,
      checksum: b.checksum
    }));
  }

  /** The service's lines, each applied to `state` before it is yielded; see the top of this file. */
  async *lines(): AsyncGenerator<SyncLine> {
    for (;;) {
      if (this.options.signal?.aborted) return;
      const request = new AbortController();
      const signal = this.options.signal
        ? AbortSignal.any([this.options.signal, request.signal])
        : request.signal;
      let refresh = false;
      try {
        for await (const line of this.open(signal)) {
          applySyncLine(this.state, line);
          yield line;
          if (
            'token_expires_in' in line &&
            line.token_expires_in <= SYNC_STREAM_READER_DEFAULTS.refreshTokenAtSeconds
          ) {
            refresh = true;
            this.tokenRefreshes++;
            break;
          }
        }
      } finally {
        request.abort();
      }
      if (!refresh) {
        if (this.options.signal?.aborted) return;
        throw new SyncStreamError({ kind: 'stream-ended', message: 'the service ended the sync stream' });
      }
    }
  }

  private async *open(signal: AbortSignal): AsyncGenerator<SyncLine> {
    const { endpoint } = this.options;
    const token = await this.options.token();
    this.connects++;
    const response = await this.request(token, signal);
    if (response.status === 401 || response.status === 403) {
      const body = (await response.json().catch(() => ({}))) as {
        error?: { code?: string; description?: string };
      };
      throw new SyncStreamError({
        kind: 'auth-rejected',
        httpStatus: response.status,
        code: body.error?.code,
        message: body.error?.description ?? `HTTP ${response.status}`
      });
    }
    if (!response.ok || !response.body) throw new SyncStreamError(await serviceError(response));
    try {
      yield* parseLines(response.body);
    } catch (error) {
      if (signal.aborted) return;
      throw new SyncStreamError(
        {
          kind: 'stream-ended',
          message: `the sync stream from ${endpoint} broke: ${(error as Error).message}`
        },
        { cause: error }
      );
    }
  }

  private async request(token: string, signal: AbortSignal): Promise<Response> {
    const { endpoint } = this.options;
    // Only until the headers: the same signal would otherwise cut the body.
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(), SYNC_STREAM_READER_DEFAULTS.connectTimeoutMs);
    const stop = () => connect.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      return await fetch(`${endpoint}/sync/stream`, {
        method: 'POST',
        headers: {
          Authorization: `Token ${token}`,
          'Content-Type': 'application/json',
          Accept: 'application/x-ndjson'
        },
        body: JSON.stringify({
          buckets: this.positions().map(({ name, after }) => ({ name, after })),
          include_checksum: true,
          raw_data: true,
          client_id: this.clientId,
          streams: syncRequestStreams(this.options.subscriptions ?? [])
        }),
        signal: connect.signal
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const message = connect.signal.aborted
        ? `no answer from ${endpoint} within ${SYNC_STREAM_READER_DEFAULTS.connectTimeoutMs / 1000} s`
        : `cannot reach ${endpoint}${cause ? ` (${cause})` : ''}: ${(error as Error).message}`;
      throw new SyncStreamError({ kind: 'unreachable', message }, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** NDJSON lines of a body, parsed as they arrive (never the whole body at once). */
async function* parseLines(body: ReadableStream<Uint8Array>): AsyncGenerator<SyncLine> {
  const decoder = new TextDecoder();
  let pending = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
        const text = pending.slice(start, end);
        start = end + 1;
        if (text.trim()) yield JSON.parse(text) as SyncLine;
      }
      pending = pending.slice(start);
    }
  } finally {
    // A caller that stops early (token refresh, abort) frees the connection.
    reader.cancel().catch(() => {});
  }
  pending += decoder.decode();
  if (pending.trim()) yield JSON.parse(pending) as SyncLine;
}
