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
import { SpilledExpectedRows, spillFilePath } from './expected-rows.ts';

/** The options that cross to the thread: the rules go as their YAML text, the rows into `spillFile`. */
export type ExpectedStateRequest = Omit<ComputeExpectedStateOptions, 'rules' | 'rows' | 'onProgress'> & {
  id: number;
  spillFile: string;
  rulesYaml: string;
  rulesFile?: string;
};

export type ExpectedStateReply =
  | { id: number; ok: true; state: Omit<ComputedExpectedState, 'rows'>; distinctRows: number }
  | {
      id: number;
      ok: false;
      error: { code?: ErrorCode; message: string; details?: Record<string, unknown> };
    };

/** An expected state whose rows are spilled to a file (the diff joins it with the client's database). */
export type SpilledExpectedState = ComputedExpectedState & { rows: SpilledExpectedRows };

/** The thread could not start or died: the caller can compute in-thread instead. */
export class ExpectedStateWorkerUnavailable extends Error {
  override name = 'ExpectedStateWorkerUnavailable';
}

interface PendingRequest {
  resolve: (state: SpilledExpectedState) => void;
  reject: (error: Error) => void;
  spillFile: string;
  worker: Worker;
}

export class ExpectedStateWorker {
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;

  /** Starts the thread ahead of the first probe; resolves once it has loaded the rules library. */
  async start(): Promise<void> {
    await this.thread();
  }

  async compute(
    options: Omit<ComputeExpectedStateOptions, 'rows' | 'onProgress'> & { rulesFile?: string }
  ): Promise<SpilledExpectedState> {
    const worker = await this.thread();
    const { rules, ...rest } = options;
    const request: ExpectedStateRequest = {
      ...rest,
      id: this.nextId++,
      rulesYaml: rules.yaml,
      spillFile: spillFilePath()
    };
    worker.ref(); // a request in flight keeps the process alive; an idle worker does not
    try {
      return await new Promise<SpilledExpectedState>((resolve, reject) => {
        this.pending.set(request.id, { resolve, reject, spillFile: request.spillFile, worker });
        worker.postMessage(request);
      });
    } finally {
      if (![...this.pending.values()].some((r) => r.worker === worker)) worker.unref();
    }
  }

  async close(): Promise<void> {
    const starting = this.starting;
    this.starting = null;
    const worker = await starting?.catch(() => null);
    await worker?.terminate();
  }

  private thread(): Promise<Worker> {
    this.starting ??= this.spawn();
    return this.starting;
  }

  private spawn(): Promise<Worker> {
    const starting = new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(new URL('./expected-state-thread.mjs', import.meta.url));
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
          rmSync(request.spillFile, { force: true });
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
    if (reply.ok) {
      try {
        const rows = SpilledExpectedRows.adopt(request.spillFile, reply.distinctRows);
        request.resolve({ ...reply.state, rows });
      } catch (error) {
        rmSync(request.spillFile, { force: true });
        request.reject(error as Error);
      }
      return;
    }
    const { code, message, details } = reply.error;
    request.reject(code ? new SyncScopeError(code, message, details) : new Error(message));
  }
}
