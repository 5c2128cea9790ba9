import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase } from '../ops-db/ops-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createConsoleMetrics } from './console-metrics.ts';
import { IngestQueue } from './ingest-queue.ts';
import type { UploadReport } from './ingest-report.ts';
import { countStuckQueues } from './stuck-queues.ts';

let pool: pg.Pool;
beforeAll(async () => {
  const url = await createTestDatabase('stuck_queues');
  await migrateOpsDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(() => pool.end());

let seq = 0;
const report = (clientId: string, id: string, ok: boolean): UploadReport => ({
  version: 1,
  reportId: `r-${++seq}`,
  userId: 'u-1',
  clientId,
  occurredAt: new Date().toISOString(),
  results: [
    ok
      ? { index: 0, table: 'records', id, op: 'PUT', ok: true }
      : { index: 0, table: 'records', id, op: 'PUT', ok: false, retryable: true, detail: 'deadlock' }
  ]
});

describe('syncscope_upload_stuck_queues', () => {
  it('counts per target the operations failing 3 times in a row from one client, until one succeeds', async () => {
    const queue = new IngestQueue(pool, { maxPendingOperations: 1_000, maxBatchOperations: 100 });
    const send = (target: string, clientId: string, id: string, ok = false) =>
      queue.submit({ target, report: report(clientId, id, ok) });
    for (let i = 0; i < 3; i++) await send('prod', 'phone-1', 'poison');
    for (let i = 0; i < 4; i++) await send('prod', 'phone-2', 'other');
    for (let i = 0; i < 2; i++) await send('staging', 'phone-3', 'twice');
    await send('prod', 'phone-1', 'fine', true);

    const metrics = createConsoleMetrics();
    metrics.setStuckQueues(await countStuckQueues(pool));
    let text = await metrics.registry.metrics();
    expect(text).toContain('syncscope_upload_stuck_queues{target="prod"} 2');
    expect(text).not.toContain('syncscope_upload_stuck_queues{target="staging"}');

    // The poison operation finally goes through, then phone-2's does: nothing is stuck any more.
    await send('prod', 'phone-1', 'poison', true);
    await send('prod', 'phone-2', 'other', true);
    metrics.setStuckQueues(await countStuckQueues(pool));
    text = await metrics.registry.metrics();
    expect(text).not.toMatch(/syncscope_upload_stuck_queues\{target="prod"\} [1-9]/);
  });
});
