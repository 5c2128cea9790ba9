import type pg from 'pg';
import { appendAudit, inTransaction } from '../ops-db/ops-database.ts';

/** A client database an operator uploaded to the console's inspector (its file lives until expiresAt). */
export interface InspectedDatabase {
  id: string;
  filePath: string;
  originalName: string;
  sizeBytes: number;
  uploadedBy: string;
  target: string | null;
  userId: string | null;
  uploadedAt: Date;
  expiresAt: Date;
}

export const INSPECTED_COLUMNS = `id, file_path AS "filePath", original_name AS "originalName",
  size_bytes::int AS "sizeBytes", uploaded_by AS "uploadedBy", target, user_id AS "userId",
  uploaded_at AS "uploadedAt", expires_at AS "expiresAt"`;

/**
 * Records an uploaded database and audits `database.inspected` in the same transaction: an upload the
 * audit log cannot record is not kept (the caller removes the file when this throws).
 */
export function recordInspectedDatabase(
  pool: pg.Pool,
  input: Omit<InspectedDatabase, 'id' | 'uploadedAt' | 'expiresAt'> & { retentionMinutes: number }
): Promise<InspectedDatabase> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<InspectedDatabase>(
      `INSERT INTO syncscope.inspected_databases (file_path, original_name, size_bytes, uploaded_by, target, user_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(mins => $7)) RETURNING ${INSPECTED_COLUMNS}`,
      [
        input.filePath,
        input.originalName,
        input.sizeBytes,
        input.uploadedBy,
        input.target,
        input.userId,
        input.retentionMinutes
      ]
    );
    const saved = rows[0]!;
    await appendAudit(client, {
      actor: input.uploadedBy,
      action: 'database.inspected',
      target: saved.target ?? undefined,
      subjectUser: saved.userId ?? undefined,
      details: {
        id: saved.id,
        name: saved.originalName,
        bytes: saved.sizeBytes,
        retentionMinutes: input.retentionMinutes
      }
    });
    return saved;
  });
}

/**
 * Deletes the records of one database (`{ id }`, an operator's delete) or of every expired one
 * (`{ expired: true }`, the retention sweep), each audited as `inspection.deleted` in the same
 * transaction. Returns the files to remove, once committed.
 */
export function deleteInspectedDatabases(
  pool: pg.Pool,
  which: { id: string } | { expired: true },
  actor: string
): Promise<string[]> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<InspectedDatabase>(
      `DELETE FROM syncscope.inspected_databases WHERE ${'id' in which ? 'id = $1' : 'expires_at <= now()'}
       RETURNING ${INSPECTED_COLUMNS}`,
      'id' in which ? [which.id] : []
    );
    for (const row of rows)
      await appendAudit(client, {
        actor,
        action: 'inspection.deleted',
        target: row.target ?? undefined,
        subjectUser: row.userId ?? undefined,
        details: { id: row.id, name: row.originalName, reason: 'id' in which ? 'deleted' : 'retention ended' }
      });
    return rows.map((row) => row.filePath);
  });
}
