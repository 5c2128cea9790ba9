import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type AbstractPowerSyncDatabase,
  column,
  type PowerSyncBackendConnector,
  PowerSyncDatabase,
  Schema,
  Table
} from '@powersync/node';

/** The client schema for the article's tables (records and categories). */
export const demoClientSchema = new Schema({
  records: new Table({
    workspace_id: column.text,
    title: column.text,
    amount: column.text,
    category_id: column.text,
    created_at: column.text
  }),
  categories: new Table({ workspace_id: column.text, name: column.text, usage_count: column.integer })
});

export interface TestClient {
  db: PowerSyncDatabase;
  dir: string;
  close(): Promise<void>;
}

/** A real @powersync/node database in a throw-away folder. */
export async function openTestClient(schema: Schema = demoClientSchema): Promise<TestClient> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-client-'));
  const db = new PowerSyncDatabase({ schema, database: { dbFilename: 'client.db', dbLocation: dir } });
  await db.init();
  return {
    db,
    dir,
    async close() {
      await db.disconnectAndClear().catch(() => {});
      await db.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  };
}

export function tokenConnector(
  endpoint: string,
  token: () => Promise<string>,
  upload: (db: AbstractPowerSyncDatabase) => Promise<void> = async () => {}
): PowerSyncBackendConnector & { credentialFetches: number } {
  const connector = {
    credentialFetches: 0,
    async fetchCredentials() {
      connector.credentialFetches++;
      return { endpoint, token: await token() };
    },
    uploadData: upload
  };
  return connector;
}

/** Polls until `check` passes or the deadline; the last failure is rethrown with context. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 15_000,
  intervalMs = 100
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
