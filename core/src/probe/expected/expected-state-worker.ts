/**
 * The expected state computed on a worker thread kept for many probes (the agent's). A probe's client
 * syncs on the main thread: the expected state's second or so of CPU at 100k rows, computed there, stalls
 * the client's stream and slows the sync it is compared with. On its own thread it uses the core the sync
 * leaves idle. Loading the rules library costs the thread ~0.3 s once, which one-shot probes (the CLI)
 * would pay every time: they compute in-thread instead, unless the user is large enough for a thread
 * of their own (run-probe.ts).
 *
 *   main thread ── request (source URL, rules YAML, user, claims, spill file) ──▶ worker thread
 *   main thread ◀── state (buckets, evidence, scans) + rows in the spill file ─── worker thread
 */
import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, SyncScopeError } from '../../errors/index.ts';
import type { ComputedExpectedState, ComputeExpectedStateOptions } from './compute-expected-state.ts';
import { SpilledExpectedRows, spillDirectory, spillFilePath } from './expected-rows.ts';
import {
  defaultPartitionHelperCount,
  type PartitionHelpers,
  type PartitionScanRequest,
  type PartitionScanResult
} from './partitioned-scan.ts';

/** The options that cross to the thread: the rules go as their YAML text, the rows into `spillFile`. */
export type ExpectedStateRequest = Omit<
  ComputeExpectedStateOptions,
  'rules' | 'rows' | 'onProgress' | 'partitionHelpers' | 'userOperations'
> & {
  kind: 'expected-state';
  id: number;
  spillFile: string;
  rulesYaml: string;
  rulesVersion: number;
  rulesFile?: string;
};

/** One partition of a large table's scan, for a helper thread (partitioned-scan.ts). */
export type PartitionRequest = PartitionScanRequest & { kind: 'partition'; id: number };

/** The user's operations for a computation under way (its `userOperations`, known later). */
export type OperationsNotice = { kind: 'operations'; id: number; operations: number | null };

export type ThreadRequest = ExpectedStateRequest | PartitionRequest | OperationsNotice;

/** `sqlState`: a driver error's SQLSTATE or socket code, so the probe tells a lost session apart. */
type ReplyError = {
  code?: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  sqlState?: string;
};

export type ExpectedStateReply =
  | { id: number; ok: true; state: Omit<ComputedExpectedState, 'rows'>; distinctRows: number }
  | { id: number; ok: true; partition: PartitionScanResult }
  | { id: number; ok: false; error: ReplyError };

/** What the thread is started with. */
export interface ExpectedStateThreadData {
  /** Helper threads the thread starts to scan large tables in partitions (0: none). */
  partitionHelpers: number;
  /** Start them now (a kept thread), rather than with the first large table (a one-off's). */
  startHelpers: boolean;
  /** The process's spill folder, which the thread spills into too (removed when the process exits). */
  spillDirectory: string;
}

/** An expected state whose rows are spilled to a file (the diff joins it with the client's database). */
export type SpilledExpectedState = ComputedExpectedState & { rows: SpilledExpectedRows };

/** The thread could not start or died: the caller can compute in-thread instead. */
export class ExpectedStateWorkerUnavailable extends Error {
  override name = 'ExpectedStateWorkerUnavailable';
}

interface PendingRequest {
  settle: (reply: ExpectedStateReply) => void;
  reject: (error: Error) => void;
  worker: Worker;
}

export class ExpectedStateWorker {
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;

  /**
   * `partitionHelpers`: helper threads this thread keeps to scan large tables in partitions (started by
   * `start`, else with the first large table); by default one per further core, at most three. Helpers
   * themselves get none.
   */
  constructor(private readonly options: { partitionHelpers?: number } = {}) {}

  /**
   * Starts the thread ahead of the first probe (a kept thread: the agent's); resolves once it has loaded
   * the rules library. Its helper threads start too, so the first large table does not wait for them.
   */
  async start(): Promise<void> {
    this.starting ??= this.spawn({ startHelpers: true });
    await this.starting;
  }

  async compute(
    options: Omit<ComputeExpectedStateOptions, 'rows' | 'onProgress' | 'partitionHelpers'> & {
      rulesFile?: string;
    }
  ): Promise<SpilledExpectedState> {
    const { rules, userOperations, ...rest } = options;
    const spillFile = spillFilePath();
    const id = this.nextId++;
    // A promise cannot cross to the thread: its value follows the request when known.
    const tellOperations = (worker: Worker) => {
      Promise.resolve(userOperations ?? null)
        .catch(() => null)
        .then((operations) =>
          worker.postMessage({ kind: 'operations', id, operations } satisfies OperationsNotice)
        )
        .catch(() => {}); // the thread is gone: its request has failed already
    };
    try {
      return await this.request(
        {
          ...rest,
          kind: 'expected-state',
          id,
          rulesYaml: rules.yaml,
          rulesVersion: rules.version,
          spillFile
        },
        tellOperations,
        (reply) => {
          if (!('state' in reply)) throw new Error('expected-state thread: reply of the wrong kind');
          return { ...reply.state, rows: SpilledExpectedRows.adopt(spillFile, reply.distinctRows) };
        }
      );
    } catch (error) {
      rmSync(spillFile, { force: true });
      throw error;
    }
  }

  /** Scans one partition of a large table into `request.spillFile` (released, for the caller to absorb). */
  scanPartition(request: PartitionScanRequest): Promise<PartitionScanResult> {
    return this.request({ ...request, kind: 'partition', id: this.nextId++ }, undefined, (reply) => {
      if (!('partition' in reply)) throw new Error('expected-state thread: reply of the wrong kind');
      return reply.partition;
    });
  }

  async close(): Promise<void> {
    const starting = this.starting;
    this.starting = null;
    const worker = await starting?.catch(() => null);
    await worker?.terminate();
  }

  /** Posts a request; `posted` runs right after (follow-up messages come after the request). */
  private async request<T>(
    message: ExpectedStateRequest | PartitionRequest,
    posted: ((worker: Worker) => void) | undefined,
    accept: (reply: ExpectedStateReply & { ok: true }) => T
  ) {
    const worker = await this.thread();
    worker.ref(); // a request in flight keeps the process alive; an idle worker does not
    try {
      return await new Promise<T>((resolve, reject) => {
        const settle = (reply: ExpectedStateReply) => {
          if (!reply.ok) return reject(errorOf(reply.error));
          try {
            resolve(accept(reply));
          } catch (error) {
            reject(error as Error);
          }
        };
        this.pending.set(message.id, { settle, reject, worker });
        worker.postMessage(message);
        posted?.(worker);
      });
    } finally {
      if (![...this.pending.values()].some((r) => r.worker === worker)) worker.unref();
    }
  }

  private thread(): Promise<Worker> {
    this.starting ??= this.spawn({ startHelpers: false });
    return this.starting;
  }

  private spawn({ startHelpers }: { startHelpers: boolean }): Promise<Worker> {
    const workerData: ExpectedStateThreadData = {
      partitionHelpers: this.options.partitionHelpers ?? defaultPartitionHelperCount(),
      startHelpers,
      spillDirectory: spillDirectory()
    };
    const starting = new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(new URL('./expected-state-thread.mjs', import.meta.url), { workerData });
      worker.unref();
      worker.on('message', (message: ExpectedStateReply | { ready: true }) => {
        if ('ready' in message) resolve(worker);
        else this.settle(message);
      });
      // A thread that dies fails its own requests only; the next request starts a new thread.
      const fail = (error: Error) => {
        if (this.starting === starting) this.starting = null;
        const unavailable = new ExpectedStateWorkerUnavailable(
          `The expected-state worker thread stopped: ${error.message}`,
          { cause: error }
        );
        reject(unavailable);
        for (const [id, request] of this.pending) {
          if (request.worker !== worker) continue;
          this.pending.delete(id);
          request.reject(unavailable);
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    });
    return starting;
  }

  private settle(reply: ExpectedStateReply): void {
    const request = this.pending.get(reply.id);
    if (!request) return;
    this.pending.delete(reply.id);
    request.settle(reply);
  }
}

function errorOf({ code, message, details, sqlState }: ReplyError): Error {
  if (code) return new SyncScopeError(code, message, details);
  return Object.assign(new Error(message), sqlState ? { code: sqlState } : {});
}

/** Helper threads for partitioned scans, each an ExpectedStateWorker without helpers of its own. */
export class PartitionHelperThreads implements PartitionHelpers {
  private readonly threads: ExpectedStateWorker[];
  private next = 0;

  constructor(readonly count: number) {
    this.threads = Array.from({ length: count }, () => new ExpectedStateWorker({ partitionHelpers: 0 }));
  }

  /** Starts every helper thread now instead of at its first scan. */
  async start(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.start()));
  }

  scan(request: PartitionScanRequest): Promise<PartitionScanResult> {
    const thread = this.threads[this.next++ % this.threads.length]!;
    return thread.scanPartition(request);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
