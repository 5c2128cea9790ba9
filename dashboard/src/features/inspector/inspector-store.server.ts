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
  deleteInspectedDatabases,
  INSPECTED_COLUMNS,
  type InspectedDatabase,
  recordInspectedDatabase
} from '@syncscope/core/inspector/inspected-databases';
import {
  detachFromWal,
  hasSqliteHeader,
  openClientDatabase
} from '@syncscope/core/inspector/open-client-database';
import { consoleConfig } from '@/server/console-config';
import { opsPool } from '@/server/ops-pool';

const dir = () => path.join(os.tmpdir(), 'syncscope-inspector');
export const RETENTION_MINUTES = [15, 60, 24 * 60] as const;

/**
 * Streams the body to a 0600 file (capped), checks it is a PowerSync database, and records it with its
 * audit entry (one transaction: an upload the audit log cannot record is not kept).
 */
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
    return await recordInspectedDatabase(opsPool(), {
      filePath,
      originalName: input.originalName.slice(0, 200),
      sizeBytes: size,
      uploadedBy: input.uploadedBy,
      target: input.target,
      userId: input.userId,
      retentionMinutes: input.retentionMinutes
    });
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

export async function getInspectedDatabase(id: string): Promise<InspectedDatabase | null> {
  await sweepExpired();
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await opsPool().query<InspectedDatabase>(
    `SELECT ${INSPECTED_COLUMNS} FROM syncscope.inspected_databases WHERE id = $1`,
    [id]
  );
  return rows[0] ?? null;
}

/** `scope`: the targets the reader may see, null for all (inspections without a target need all). */
export async function listInspectedDatabases(scope: string[] | null): Promise<InspectedDatabase[]> {
  await sweepExpired();
  const { rows } = await opsPool().query<InspectedDatabase>(
    `SELECT ${INSPECTED_COLUMNS} FROM syncscope.inspected_databases
     WHERE $1::text[] IS NULL OR target = ANY($1) ORDER BY uploaded_at DESC LIMIT 50`,
    [scope]
  );
  return rows;
}

/** Deletes one database's record (audited with who deleted it) and then its file. */
export async function deleteInspectedDatabase(id: string, deletedBy: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  const files = await deleteInspectedDatabases(opsPool(), { id }, deletedBy);
  for (const file of files) await rm(file, { force: true });
  return files.length > 0;
}

/** Deletes files (and rows, audited) past their retention. */
export async function sweepExpired(): Promise<number> {
  const files = await deleteInspectedDatabases(opsPool(), { expired: true }, 'console:retention');
  for (const file of files) await rm(file, { force: true });
  return files.length;
}
