/**
 * SyncScope upload-results reporter: call `report()` after applying an upload batch, with each
 * operation's result. It never throws into your request and never blocks it: reports are queued
 * (bounded), sent in the background with a timeout, retried with backoff on 429, 5xx and network errors
 * (the same reportId, so a resend is not counted twice), and named fields are redacted before they
 * leave the process. No dependencies: global fetch and crypto (Node 18+).
 */

export interface OperationResult {
  index: number;
  table: string | null;
  id: string | null;
  op: string | null;
  ok: boolean;
  retryable?: boolean;
  code?: string;
  detail?: string;
}

export interface UploadResultsReporterOptions {
  /** SyncScope's ingest URL, e.g. https://syncscope.example.com/api/ingest/v1/upload-results */
  url: string;
  /** The target's ingest key (`syncscope ingest-keys add --target NAME`). */
  apiKey: string;
  /** Field names (any depth, case-insensitive) replaced by "[redacted]" before sending. */
  redactFields?: string[];
  timeoutMs?: number;
  /** Reports waiting to be sent; beyond this the oldest are dropped (and counted). */
  maxQueued?: number;
  maxAttempts?: number;
  /** Told about reports that could not be delivered (never the key or the data). */
  onDeliveryFailure?: (reason: string) => void;
}

export interface UploadResultsReporter {
  report(input: {
    userId: string;
    clientId?: string;
    results: OperationResult[];
    /** The batch as uploaded: `{op, table, id, data}` per operation, matched to results by index. */
    batch?: unknown[];
  }): void;
  /** Resolves when everything queued so far was sent (or given up on). */
  flush(): Promise<void>;
  readonly dropped: number;
}

const DEFAULT_REDACTED = [
  'password',
  'secret',
  'token',
  'api_key',
  'apikey',
  'authorization',
  'ssn',
  'credit_card'
];
const REDACTED = '[redacted]';

function redact(value: unknown, names: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, names));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, names.has(k.toLowerCase()) ? REDACTED : redact(v, names)])
  );
}

function dataOf(batch: unknown[] | undefined, index: number): unknown {
  const op = batch?.[index];
  return op && typeof op === 'object' && 'data' in op ? (op as { data: unknown }).data : undefined;
}

export function createUploadResultsReporter(options: UploadResultsReporterOptions): UploadResultsReporter {
  const names = new Set([...DEFAULT_REDACTED, ...(options.redactFields ?? [])].map((n) => n.toLowerCase()));
  const maxQueued = options.maxQueued ?? 1000;
  const maxAttempts = options.maxAttempts ?? 5;
  const queue: string[] = [];
  let dropped = 0;
  let sending: Promise<void> | null = null;

  const post = async (body: string): Promise<'done' | 'retry'> => {
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000)
      });
      if (response.ok) return 'done';
      if (response.status === 429 || response.status >= 500) return 'retry';
      options.onDeliveryFailure?.(
        `SyncScope refused the report: HTTP ${response.status} ${await response.text()}`
      );
      return 'done';
    } catch {
      return 'retry';
    }
  };

  const drain = async () => {
    while (queue.length > 0) {
      const body = queue[0]!;
      let outcome: 'done' | 'retry' = 'retry';
      for (let attempt = 1; attempt <= maxAttempts && outcome === 'retry'; attempt++) {
        outcome = await post(body);
        if (outcome === 'retry' && attempt < maxAttempts)
          await new Promise((r) => setTimeout(r, Math.min(30_000, 200 * 2 ** attempt)));
      }
      if (outcome === 'retry')
        options.onDeliveryFailure?.(`SyncScope unreachable after ${maxAttempts} attempts`);
      queue.shift();
    }
  };

  const kick = () => {
    sending ??= drain().finally(() => {
      sending = null;
    });
  };

  return {
    report({ userId, clientId, results, batch }) {
      const body = JSON.stringify({
        version: 1,
        reportId: crypto.randomUUID(),
        userId,
        clientId,
        occurredAt: new Date().toISOString(),
        results: results.map((r) =>
          r.ok
            ? { index: r.index, table: r.table, id: r.id, op: r.op, ok: true }
            : { ...r, data: redact(dataOf(batch, r.index), names) }
        )
      });
      queue.push(body);
      if (queue.length > maxQueued) {
        queue.splice(1, 1); // keep the one being sent
        dropped++;
      }
      kick();
    },
    async flush() {
      while (sending) await sending;
    },
    get dropped() {
      return dropped;
    }
  };
}
