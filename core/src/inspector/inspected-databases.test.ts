import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateOpsDatabase } from '../ops-db/ops-database.ts';
import { whileAuditRefuses } from '../testing/test-audit-sink.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { deleteInspectedDatabases, recordInspectedDatabase } from './inspected-databases.ts';

let url: string;
let pool: pg.Pool;
beforeAll(async () => {
  url = await createTestDatabase('inspected_databases_audit');
  await migrateOpsDatabase(url);
  pool = new pg.Pool({ connectionString: url, max: 2 });
});
afterAll(() => pool.end());

const upload = (name: string, retentionMinutes = 60) =>
  recordInspectedDatabase(pool, {
    filePath: `/tmp/${name}.db`,
    originalName: name,
    sizeBytes: 4096,
    uploadedBy: 'operator@example.com',
    target: 'demo',
    userId: 'u-1',
    retentionMinutes
  });

const rowsNamed = async (name: string) =>
  (await pool.query('SELECT id FROM syncscope.inspected_databases WHERE original_name = $1', [name]))
    .rowCount;

const auditFor = async (id: string) =>
  (
    await pool.query(
      "SELECT actor, action, subject_user, details->>'reason' AS reason FROM syncscope.audit_log WHERE details->>'id' = $1 ORDER BY seq",
      [id]
    )
  ).rows;

describe('inspector uploads and deletions are audited in the same transaction', () => {
  it('audits an upload and an operator deleting it, naming who', async () => {
    const saved = await upload('phone-1');
    expect(await deleteInspectedDatabases(pool, { id: saved.id }, 'admin@example.com')).toEqual([
      '/tmp/phone-1.db'
    ]);
    expect(await auditFor(saved.id)).toEqual([
      { actor: 'operator@example.com', action: 'database.inspected', subject_user: 'u-1', reason: null },
      { actor: 'admin@example.com', action: 'inspection.deleted', subject_user: 'u-1', reason: 'deleted' }
    ]);
  });

  it('audits the retention sweep deleting an expired upload', async () => {
    const saved = await upload('phone-2');
    await pool.query(
      "UPDATE syncscope.inspected_databases SET expires_at = now() - interval '1 minute' WHERE id = $1",
      [saved.id]
    );
    expect(await deleteInspectedDatabases(pool, { expired: true }, 'console:retention')).toEqual([
      '/tmp/phone-2.db'
    ]);
    expect((await auditFor(saved.id)).at(-1)).toMatchObject({
      actor: 'console:retention',
      reason: 'retention ended'
    });
  });

  it('keeps no upload whose audit entry cannot be written', async () => {
    await whileAuditRefuses(url, 'database.inspected', () => upload('phone-3'));
    expect(await rowsNamed('phone-3')).toBe(0);
  });

  it('deletes nothing when the deletion cannot be audited', async () => {
    const saved = await upload('phone-4');
    await whileAuditRefuses(url, 'inspection.deleted', () =>
      deleteInspectedDatabases(pool, { id: saved.id }, 'admin@example.com')
    );
    expect(await rowsNamed('phone-4')).toBe(1);
  });
});
