import type pg from 'pg';
import { type ReportForTarget, reportKey, storeUploadReports } from './store-upload-errors.ts';

export class IngestQueueFullError extends Error {
  constructor(readonly pendingOperations: number) {
    super(`the ingest queue holds ${pendingOperations} operations`);
  }
}

interface Pending {
  entry: ReportForTarget;
  operations: number;
  resolve(result: { added: number; duplicates: number }): void;
  reject(error: unknown): void;
}

/**
 * Group commit for upload reports: requests that arrive while a write runs are stored together in the
 * next transaction (one multi-row insert), and each request is answered once its report is committed.
 * The queue is bounded by operations waiting: past `maxPendingOperations` a request is refused at once
 * (the caller answers 429 and the reporter retries later) instead of memory growing without limit.
 */
export class IngestQueue {
  private queue: Pending[] = [];
  private queuedOperations = 0;
  private writing = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: {
      maxPendingOperations: number;
      maxBatchOperations: number;
      redacted?: readonly string[];
    }
  ) {}

  get pendingOperations(): number {
    return this.queuedOperations;
  }

  submit(entry: ReportForTarget): Promise<{ added: number; duplicates: number }> {
    const operations = Math.max(1, entry.report.results.length);
    if (this.queuedOperations + operations > this.options.maxPendingOperations)
      return Promise.reject(new IngestQueueFullError(this.queuedOperations));
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, operations, resolve, reject });
      this.queuedOperations += operations;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let size = 0;
        while (
          this.queue.length > 0 &&
          (batch.length === 0 || size + this.queue[0]!.operations <= this.options.maxBatchOperations)
        ) {
          const next = this.queue.shift()!;
          batch.push(next);
          size += next.operations;
        }
        await this.write(batch, size);
      }
    } finally {
      this.writing = false;
    }
  }

  /** Stores one batch; its operations stop counting as pending before anyone hears the answer. */
  private async write(batch: Pending[], operations: number): Promise<void> {
    try {
      const client = await this.pool.connect();
      try {
        const added = await storeUploadReports(
          client,
          batch.map((p) => p.entry),
          this.options.redacted
        );
        this.queuedOperations -= operations;
        for (const { entry, resolve } of batch) {
          const failures = entry.report.results.filter((r) => !r.ok).length;
          const n = added.get(reportKey(entry.target, entry.report.reportId)) ?? 0;
          resolve({ added: n, duplicates: failures - n });
        }
      } finally {
        client.release();
      }
    } catch (error) {
      this.queuedOperations -= operations;
      for (const { reject } of batch) reject(error);
    }
  }
}
