import { readdirSync } from 'node:fs';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { readReference } from '@syncscope/core/testing/reference';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeExpectedState } from './compute-expected-state.ts';
import { spillDirectory } from './expected-rows.ts';
import { ExpectedStateWorker, ExpectedStateWorkerUnavailable } from './expected-state-worker.ts';

const spillFiles = () => readdirSync(spillDirectory());

describe('the expected state on a kept worker thread', () => {
  let url: string;
  const rules = loadSyncRules(readReference('sync-rules.yaml'));
  const worker = new ExpectedStateWorker();
  beforeAll(async () => {
    url = await createTestDatabase('probe_expected_worker');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(readReference('seed.sql'));
    await client.end();
    await worker.start();
  });
  afterAll(() => worker.close());

  it('gives what the main thread computes, rows handed over in a file deleted on close', async () => {
    const inThread = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-alice' });
    // Twice: the thread is kept, and it serves one request after another.
    for (let i = 0; i < 2; i++) {
      const fromWorker = await worker.compute({ sourceUrl: url, rules, userId: 'u-alice' });
      expect(fromWorker.rows.size).toBe(12);
      expect([...fromWorker.rows.values()]).toEqual([...inThread.rows.values()]);
      expect(fromWorker.buckets).toEqual(inThread.buckets);
      expect(fromWorker.parameterEvidence).toEqual(inThread.parameterEvidence);
      expect(fromWorker.scans).toEqual(inThread.scans);
      expect(spillFiles()).toHaveLength(1);
      fromWorker.rows.close();
      expect(spillFiles()).toHaveLength(0);
    }
  });

  it('serves requests that overlap, each with its own user', async () => {
    const [alice, bob] = await Promise.all([
      worker.compute({ sourceUrl: url, rules, userId: 'u-alice' }),
      worker.compute({ sourceUrl: url, rules, userId: 'u-bob' })
    ]);
    const bobInThread = await computeExpectedState({ sourceUrl: url, rules, userId: 'u-bob' });
    expect(alice.rows.size).toBe(12);
    expect([...bob.rows.values()]).toEqual([...bobInThread.rows.values()]);
    alice.rows.close();
    bob.rows.close();
  });

  it("passes the engine's errors back with their codes, and leaves no file behind", async () => {
    const unreachable = await worker
      .compute({ sourceUrl: 'postgres://nobody@127.0.0.1:1/none', rules, userId: 'u-alice' })
      .then(
        () => null,
        (e: { code?: string; message: string }) => e
      );
    expect(unreachable?.code).toBe('SYNCSCOPE_E_PG_UNREACHABLE');
    expect(unreachable?.message).toMatch(/could not be reached/);
    expect(spillFiles()).toHaveLength(0);
    // The thread survives a failed request.
    const after = await worker.compute({ sourceUrl: url, rules, userId: 'u-alice' });
    expect(after.rows.size).toBe(12);
    after.rows.close();
  });

  it('fails a request whose thread stops with ExpectedStateWorkerUnavailable, removing its file', async () => {
    const pending = worker.compute({ sourceUrl: url, rules, userId: 'u-alice' });
    await worker.close();
    const error = await pending.then(
      () => null,
      (e: Error) => e
    );
    expect(error).toBeInstanceOf(ExpectedStateWorkerUnavailable);
    expect(error?.message).toMatch(/worker thread stopped/);
    expect(spillFiles()).toHaveLength(0);
  });

  it('restarts after its thread was stopped', async () => {
    await worker.close();
    const again = await worker.compute({ sourceUrl: url, rules, userId: 'u-alice' });
    expect(again.rows.size).toBe(12);
    again.rows.close();
    expect(spillFiles()).toHaveLength(0);
  });
});
