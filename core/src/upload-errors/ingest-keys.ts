import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { appendAudit, inTransaction } from '../ops-db/ops-database.ts';

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

async function insertKey(
  client: pg.PoolClient,
  input: { target: string; label: string; createdBy: string }
): Promise<{ key: string; info: IngestKeyInfo }> {
  const key = `ssk_${randomBytes(32).toString('base64url')}`;
  const { rows } = await client.query<IngestKeyInfo>(
    `INSERT INTO syncscope.ingest_keys (target, key_sha256, label, created_by) VALUES ($1, $2, $3, $4)
     RETURNING id, target, label, created_by AS "createdBy", created_at AS "createdAt", revoked_at AS "revokedAt"`,
    [input.target, sha256(key), input.label, input.createdBy]
  );
  const info = rows[0]!;
  await appendAudit(client, {
    actor: input.createdBy,
    action: 'ingest_key.added',
    target: info.target,
    details: { id: info.id, label: info.label }
  });
  return { key, info };
}

/**
 * A new ingest key for one target, audited in the same transaction; the key itself is returned once and
 * only its hash is stored.
 */
export function createIngestKey(
  pool: pg.Pool,
  input: { target: string; label: string; createdBy: string }
): Promise<{ key: string; info: IngestKeyInfo }> {
  return inTransaction(pool, (client) => insertKey(client, input));
}

/** Revokes the active keys `where` selects, each audited in the caller's transaction; returns how many. */
async function revokeWhere(
  client: pg.PoolClient,
  where: { id: string } | { label: string },
  revokedBy: string
): Promise<number> {
  const [column, value] = 'id' in where ? ['id', where.id] : ['label', where.label];
  const { rows } = await client.query<{ id: string; target: string; label: string }>(
    `UPDATE syncscope.ingest_keys SET revoked_at = now() WHERE ${column} = $1 AND revoked_at IS NULL
     RETURNING id, target, label`,
    [value]
  );
  for (const key of rows)
    await appendAudit(client, {
      actor: revokedBy,
      action: 'ingest_key.revoked',
      target: key.target,
      details: { id: key.id, label: key.label }
    });
  return rows.length;
}

/** Revokes one key, audited in the same transaction; false when there is no active key with that id. */
export async function revokeIngestKey(
  pool: pg.Pool,
  input: { id: string; revokedBy: string }
): Promise<boolean> {
  return (await inTransaction(pool, (client) => revokeWhere(client, { id: input.id }, input.revokedBy))) > 0;
}

/**
 * Replaces the active keys with `label` by one new key (what `npm start` does for the demo backend at
 * every start): revocations, the new key and their audit entries in one transaction.
 */
export function replaceIngestKeys(
  pool: pg.Pool,
  input: { target: string; label: string; createdBy: string }
): Promise<{ key: string; info: IngestKeyInfo }> {
  return inTransaction(pool, async (client) => {
    await revokeWhere(client, { label: input.label }, input.createdBy);
    return insertKey(client, input);
  });
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
