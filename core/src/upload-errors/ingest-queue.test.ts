import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase } from '../ops-db/ops-database.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createIngestKey, revokeIngestKey, targetOfIngestKey } from './ingest-keys.ts';
import { IngestQueue, IngestQueueFullError } from './ingest-queue.ts';
import type { UploadReport } from './ingest-report.ts';
import { REDACTED } from './redact.ts';

let pool: pg.Pool;
beforeAll(async () => {
  const url = await createTestDatabase('upload_errors');
  await migrateOpsDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 4 });
});
afterAll(() => pool.end());

let seq = 0;
function report(results: UploadReport['results'], clientId = 'client-1'): UploadReport {
  seq++;
  return {
    version: 1,
    reportId: `r-${seq}`,
    userId: 'u-1',
    clientId,
    occurredAt: new Date().toISOString(),
    results
  };
}
const failure = (index: number, id: string, detail: string, extra: object = {}) => ({
  index,
  table: 'records',
  id,
  op: 'PUT',
  ok: false,
  retryable: false,
  code: 'DEMO_E_INVALID',
  detail,
  ...extra
});

const count = async (sql: string) => (await pool.query(sql)).rows[0].n as number;

describe('upload error ingest', () => {
  it('groups by normalised detail, counts a resent report once, and redacts fields', async () => {
    const queue = new IngestQueue(pool, { maxPendingOperations: 10_000, maxBatchOperations: 1_000 });
    const first = report([
      failure(0, 'a', 'amount 12 is over the limit 10', { data: { amount: 12, password: 'hunter2' } }),
      failure(1, 'b', 'amount 99 is over the limit 10'),
      { index: 2, table: 'records', id: 'c', op: 'PUT', ok: true }
    ]);
    const results = await Promise.all([
      queue.submit({ target: 't1', report: first }),
      queue.submit({ target: 't1', report: report([failure(0, 'd', 'title is required')]) })
    ]);
    expect(results).toEqual([
      { added: 2, duplicates: 0 },
      { added: 1, duplicates: 0 }
    ]);
    expect(await queue.submit({ target: 't1', report: first })).toEqual({ added: 0, duplicates: 2 });
    const groups = await pool.query(
      "SELECT detail_pattern, occurrences::int FROM syncscope.upload_error_groups WHERE target = 't1' ORDER BY 1"
    );
    expect(groups.rows).toEqual([
      { detail_pattern: 'amount <n> is over the limit <n>', occurrences: 2 },
      { detail_pattern: 'title is required', occurrences: 1 }
    ]);
    expect(await count('SELECT sum(occurrences)::int AS n FROM syncscope.upload_error_hourly')).toBe(3);
    const stored = await pool.query("SELECT data FROM syncscope.upload_errors WHERE row_id = 'a'");
    expect(stored.rows[0].data).toEqual({ amount: 12, password: REDACTED });
  });

  it('detects an operation failing again and again from one client, and clears it when it succeeds', async () => {
    const queue = new IngestQueue(pool, { maxPendingOperations: 10_000, maxBatchOperations: 1_000 });
    const poison = () => report([failure(0, 'poison', 'lock timeout', { retryable: true })], 'client-stuck');
    for (let i = 0; i < 4; i++) await queue.submit({ target: 't2', report: poison() });
    const streak = await pool.query(
      "SELECT failures::int, last_retryable, row_id FROM syncscope.upload_error_streaks WHERE target = 't2'"
    );
    expect(streak.rows).toEqual([{ failures: 4, last_retryable: true, row_id: 'poison' }]);
    await queue.submit({
      target: 't2',
      report: report([{ index: 0, table: 'records', id: 'poison', op: 'PUT', ok: true }], 'client-stuck')
    });
    expect(
      await count("SELECT count(*)::int AS n FROM syncscope.upload_error_streaks WHERE target = 't2'")
    ).toBe(0);
  });

  it('refuses new reports when the queue is full instead of growing without limit', async () => {
    const queue = new IngestQueue(pool, { maxPendingOperations: 3, maxBatchOperations: 1_000 });
    const big = report([failure(0, 'x', 'e'), failure(1, 'y', 'e'), failure(2, 'z', 'e')]);
    const accepted = queue.submit({ target: 't3', report: big });
    await expect(
      queue.submit({ target: 't3', report: report([failure(0, 'w', 'e')]) })
    ).rejects.toBeInstanceOf(IngestQueueFullError);
    await accepted;
    expect(queue.pendingOperations).toBe(0);
    await expect(queue.submit({ target: 't3', report: report([failure(0, 'w', 'e')]) })).resolves.toEqual({
      added: 1,
      duplicates: 0
    });
  });

  it('keeps ingest keys hashed, per target, and revocable', async () => {
    const { key, info } = await createIngestKey(pool, {
      target: 'demo',
      label: 'demo backend',
      createdBy: 'cli'
    });
    expect(key).toMatch(/^ssk_[\w-]{43}$/);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM syncscope.ingest_keys WHERE key_sha256::text LIKE '%${key.slice(4, 12)}%'`
      )
    ).toBe(0);
    expect(await targetOfIngestKey(pool, key)).toBe('demo');
    expect(await targetOfIngestKey(pool, `${key}x`)).toBeNull();
    expect(await revokeIngestKey(pool, { id: info.id, revokedBy: 'test' })).toBe(true);
    expect(await targetOfIngestKey(pool, key)).toBeNull();
  });
});
