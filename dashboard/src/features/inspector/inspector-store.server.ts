import 'server-only';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SyncScopeError } from '@syncscope/core';
import { readClientStreamSubscriptions } from '@syncscope/core/inspector/client-stream-subscriptions';
import {
  detachFromWal,
  hasSqliteHeader,
  openClientDatabase
} from '@syncscope/core/inspector/open-client-database';
import { consoleConfig } from '@/server/console-config';
import { opsPool } from '@/server/ops-pool';

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

const dir = () => path.join(os.tmpdir(), 'syncscope-inspector');
export const RETENTION_MINUTES = [15, 60, 24 * 60] as const;

/** Streams the body to a 0600 file (capped), checks it is a PowerSync database, and records it. */
export async function saveUpload(input: {
  body: ReadableStream<Uint8Array>;
  originalName: string;
  uploadedBy: string;
  target: string | null;
  userId: string | null;
  retentionMinutes: number;
}): Promise<InspectedDatabase> {
  await sweepExpired();
  await mkdir(dir(), { recursive: true, mode: 0o700 });
  const filePath = path.join(dir(), `${randomUUID()}.db`);
  const limit = consoleConfig().SYNCSCOPE_INSPECT_MAX_BYTES;
  let size = 0;
  try {
    const counted = Readable.fromWeb(input.body as never).on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit)
        counted.destroy(
          new SyncScopeError(
            'SYNCSCOPE_E_INSPECT_TOO_LARGE',
            `The database is over ${Math.round(limit / 1e6)} MB.`
          )
        );
    });
    await pipeline(counted, createWriteStream(filePath, { mode: 0o600 }));
    if (await hasSqliteHeader(filePath)) await detachFromWal(filePath);
    await checkClientDatabase(filePath);
    const { rows } = await opsPool().query<InspectedDatabase>(
      `INSERT INTO syncscope.inspected_databases (file_path, original_name, size_bytes, uploaded_by, target, user_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(mins => $7)) RETURNING ${COLUMNS}`,
      [
        filePath,
        input.originalName.slice(0, 200),
        size,
        input.uploadedBy,
        input.target,
        input.userId,
        input.retentionMinutes
      ]
    );
    return rows[0]!;
  } catch (error) {
    // Nothing is kept from a refused upload.
    await rm(filePath, { force: true });
    throw error;
  }
}

/** Refuses, at upload, a file the inspection would fail on: not PowerSync's, or unreadable subscriptions. */
async function checkClientDatabase(filePath: string): Promise<void> {
  const db = await openClientDatabase(filePath);
  try {
    readClientStreamSubscriptions(db, new Date());
  } finally {
    db.close();
  }
}

const COLUMNS = `id, file_path AS "filePath", original_name AS "originalName", size_bytes::int AS "sizeBytes",
  uploaded_by AS "uploadedBy", target, user_id AS "userId", uploaded_at AS "uploadedAt", expires_at AS "expiresAt"`;

export async function getInspectedDatabase(id: string): Promise<InspectedDatabase | null> {
  await sweepExpired();
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await opsPool().query<InspectedDatabase>(
    `SELECT ${COLUMNS} FROM syncscope.inspected_databases WHERE id = $1`,
    [id]
  );
  return rows[0] ?? null;
}

/** `scope`: the targets the reader may see, null for all (inspections without a target need all). */
export async function listInspectedDatabases(scope: string[] | null): Promise<InspectedDatabase[]> {
  await sweepExpired();
  const { rows } = await opsPool().query<InspectedDatabase>(
    `SELECT ${COLUMNS} FROM syncscope.inspected_databases
     WHERE $1::text[] IS NULL OR target = ANY($1) ORDER BY uploaded_at DESC LIMIT 50`,
    [scope]
  );
  return rows;
}

export async function deleteInspectedDatabase(id: string): Promise<boolean> {
  const { rows } = await opsPool().query<{ filePath: string }>(
    'DELETE FROM syncscope.inspected_databases WHERE id = $1 RETURNING file_path AS "filePath"',
    [id]
  );
  for (const row of rows) await rm(row.filePath, { force: true });
  return rows.length > 0;
}

/** Deletes files (and rows) past their retention. */
export async function sweepExpired(): Promise<number> {
  const { rows } = await opsPool().query<{ filePath: string }>(
    'DELETE FROM syncscope.inspected_databases WHERE expires_at <= now() RETURNING file_path AS "filePath"'
  );
  for (const row of rows) await rm(row.filePath, { force: true });
  return rows.length;
}
