import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testing/test-database.ts';
import { AuditBatcher } from './audit-batch.ts';
import { verifyAuditChain } from './audit-chain.ts';
import { type AuditEntry, migrateOpsDatabase } from './ops-database.ts';

const entry = (n: number): AuditEntry => ({
  actor: 'agent:a1',
  action: 'probe.token_minted',
  target: 'demo',
  subjectUser: `u-${n}`,
  reason: 'sweep'
});

describe('audit entries written at the same time', () => {
  let pool: pg.Pool;
  let inserts = 0;
  const counted = {
    query: (text: string, values: unknown[]) => {
      inserts++;
      return pool.query(text, values);
    }
  };
  beforeAll(async () => {
    const url = await createTestDatabase('audit_batch');
    await migrateOpsDatabase(url);
    pool = new pg.Pool({ connectionString: url, max: 4 });
  });
  afterAll(async () => pool?.end());

  it('go in as a few INSERTs, each caller resolving once its entry is committed, the chain intact', async () => {
    const batcher = new AuditBatcher(counted as unknown as pg.Pool);
    inserts = 0;
    await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        batcher.append(entry(n)).then(async () => {
          const { rows } = await pool.query('SELECT 1 FROM syncscope.audit_log WHERE subject_user = $1', [
            `u-${n}`
          ]);
          expect(rows, `u-${n} committed when its caller resumes`).toHaveLength(1);
        })
      )
    );
    // The first goes in alone; the 199 that arrived while it was written share the next INSERT.
    expect(inserts).toBe(2);
    const { rows } = await pool.query<{ subject_user: string }>(
      "SELECT subject_user FROM syncscope.audit_log WHERE reason = 'sweep' ORDER BY seq"
    );
    expect(rows.map((r) => r.subject_user)).toEqual(Array.from({ length: 200 }, (_, n) => `u-${n}`));
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
  });

  it('a bad entry fails only its own caller: the others of its INSERT are written one by one', async () => {
    const batcher = new AuditBatcher(pool);
    const results = await Promise.allSettled([
      batcher.append({ ...entry(1000), reason: 'first' }),
      batcher.append({ ...entry(1001), reason: 'together' }),
      batcher.append({ ...entry(1002), actor: null as unknown as string, reason: 'together' }),
      batcher.append({ ...entry(1003), reason: 'together' })
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/actor/);
    const { rows } = await pool.query<{ subject_user: string }>(
      "SELECT subject_user FROM syncscope.audit_log WHERE reason IN ('first', 'together') ORDER BY seq"
    );
    expect(rows.map((r) => r.subject_user)).toEqual(['u-1000', 'u-1001', 'u-1003']);
  });
});
