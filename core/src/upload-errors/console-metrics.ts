import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The console's Prometheus metrics (GET /metrics). Labels are bounded: targets come from keys an admin
 * created, tables from the app's schema (capped at MAX_TABLES distinct values; the rest count as "other").
 */
const MAX_TABLES = 100;

export function createConsoleMetrics() {
  const registry = new Registry();
  const uploadErrors = new Counter({
    name: 'syncscope_upload_errors_total',
    help: 'Failed upload operations reported by app backends (new ones; resent reports are not counted).',
    labelNames: ['target', 'table', 'retryable'] as const,
    registers: [registry]
  });
  const ingestRequests = new Counter({
    name: 'syncscope_ingest_requests_total',
    help: 'Upload-result reports received, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry]
  });
  const queueOperations = new Gauge({
    name: 'syncscope_ingest_queue_operations',
    help: 'Reported operations waiting to be stored.',
    registers: [registry]
  });
  const stuckQueues = new Gauge({
    name: 'syncscope_upload_stuck_queues',
    help: 'Client upload queues whose head operation failed 3 times or more in a row in the last 24 h, by target.',
    labelNames: ['target'] as const,
    registers: [registry]
  });
  const stuckTargets = new Set<string>();
  const tables = new Set<string>();
  return {
    registry,
    ingestRequests,
    queueOperations,
    /** Replaces the stuck-queue counts (read from the ops database at each scrape); 0 for a target no longer stuck. */
    setStuckQueues(counts: ReadonlyMap<string, number>) {
      for (const target of stuckTargets) if (!counts.has(target)) stuckQueues.set({ target }, 0);
      for (const [target, n] of counts) {
        stuckTargets.add(target);
        stuckQueues.set({ target }, n);
      }
    },
    countUploadError(target: string, table: string, retryable: boolean, n = 1) {
      if (!tables.has(table) && tables.size < MAX_TABLES) tables.add(table);
      uploadErrors.inc(
        { target, table: tables.has(table) ? table : 'other', retryable: String(retryable) },
        n
      );
    }
  };
}

const globalKey = Symbol.for('syncscope.console.metrics');
type WithMetrics = typeof globalThis & { [globalKey]?: ReturnType<typeof createConsoleMetrics> };

export function consoleMetrics(): ReturnType<typeof createConsoleMetrics> {
  const holder = globalThis as WithMetrics;
  holder[globalKey] ??= createConsoleMetrics();
  return holder[globalKey];
}
