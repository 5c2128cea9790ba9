import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

type Queryable = Pick<pg.Pool, 'query'>;

const sha256 = (key: string) => createHash('sha256').update(key).digest();

export interface IngestKeyInfo {
  id: string;
  target: string;
  label: string;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A new ingest key for one target; the key itself is returned once and only its hash is stored. */
export async function createIngestKey(
  db: Queryable,
  input: { target: string; label: string; createdBy: string }
): Promise<{ key: string; info: IngestKeyInfo }> {
  const key = `ssk_${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<IngestKeyInfo>(
    `INSERT INTO syncscope.ingest_keys (target, key_sha256, label, created_by) VALUES ($1, $2, $3, $4)
     RETURNING id, target, label, created_by AS "createdBy", created_at AS "createdAt", revoked_at AS "revokedAt"`,
    [input.target, sha256(key), input.label, input.createdBy]
  );
  return { key, info: rows[0]! };
}

/** The target a (not revoked) key reports for, or null. */
export async function targetOfIngestKey(db: Queryable, key: string): Promise<string | null> {
  if (!key.startsWith('ssk_')) return null;
  const { rows } = await db.query<{ target: string }>(
    'SELECT target FROM syncscope.ingest_keys WHERE key_sha256 = $1 AND revoked_at IS NULL',
    [sha256(key)]
  );
  return rows[0]?.target ?? null;
}

export async function listIngestKeys(db: Queryable): Promise<IngestKeyInfo[]> {
  const { rows } = await db.query<IngestKeyInfo>(
    `SELECT id, target, label, created_by AS "createdBy", created_at AS "createdAt", revoked_at AS "revokedAt"
     FROM syncscope.ingest_keys ORDER BY created_at DESC`
  );
  return rows;
}

export async function revokeIngestKey(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE syncscope.ingest_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
    [id]
  );
  return Boolean(rowCount);
}
