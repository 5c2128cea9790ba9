import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase } from '../ops-db/ops-database.ts';
import { whileAuditRefuses } from '../testing/test-audit-sink.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { createIngestKey, listIngestKeys, replaceIngestKeys, revokeIngestKey } from './ingest-keys.ts';

let url: string;
let pool: pg.Pool;
beforeAll(async () => {
  url = await createTestDatabase('ingest_keys_audit');
  await migrateOpsDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(() => pool.end());

const auditOf = async (keyId: string) =>
  (
    await pool.query(
      "SELECT actor, action, target, details->>'label' AS label FROM syncscope.audit_log WHERE details->>'id' = $1 ORDER BY seq",
      [keyId]
    )
  ).rows;

describe('ingest keys are audited in the same transaction as the change', () => {
  it('audits adding and revoking a key with who did it', async () => {
    const { info } = await createIngestKey(pool, { target: 'demo', label: 'billing', createdBy: 'cli:ana' });
    expect(await revokeIngestKey(pool, { id: info.id, revokedBy: 'cli:bo' })).toBe(true);
    expect(await auditOf(info.id)).toEqual([
      { actor: 'cli:ana', action: 'ingest_key.added', target: 'demo', label: 'billing' },
      { actor: 'cli:bo', action: 'ingest_key.revoked', target: 'demo', label: 'billing' }
    ]);
  });

  it('audits each key a replacement revokes, and the new one', async () => {
    const first = await replaceIngestKeys(pool, {
      target: 'demo',
      label: 'demo backend',
      createdBy: 'npm start'
    });
    const second = await replaceIngestKeys(pool, {
      target: 'demo',
      label: 'demo backend',
      createdBy: 'npm start'
    });
    expect((await auditOf(first.info.id)).map((e) => e.action)).toEqual([
      'ingest_key.added',
      'ingest_key.revoked'
    ]);
    expect((await auditOf(second.info.id)).map((e) => e.action)).toEqual(['ingest_key.added']);
  });

  it('adds no key when its audit entry cannot be written', async () => {
    const before = (await listIngestKeys(pool)).length;
    await whileAuditRefuses(url, 'ingest_key.added', () =>
      createIngestKey(pool, { target: 'demo', label: 'unaudited', createdBy: 'cli:eve' })
    );
    expect(await listIngestKeys(pool)).toHaveLength(before);
  });

  it('revokes nothing when the revocation cannot be audited', async () => {
    const { info } = await createIngestKey(pool, { target: 'demo', label: 'kept', createdBy: 'cli:ana' });
    await whileAuditRefuses(url, 'ingest_key.revoked', () =>
      revokeIngestKey(pool, { id: info.id, revokedBy: 'cli:eve' })
    );
    await whileAuditRefuses(url, 'ingest_key.revoked', () =>
      replaceIngestKeys(pool, { target: 'demo', label: 'kept', createdBy: 'cli:eve' })
    );
    const keys = await listIngestKeys(pool);
    expect(keys.filter((k) => k.label === 'kept').map((k) => k.revokedAt)).toEqual([null]);
  });
});
