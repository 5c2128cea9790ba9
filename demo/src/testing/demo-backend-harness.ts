import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, type Logger, loadOrCreateSigningKey, type SigningKey } from '@syncscope/core';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import pg from 'pg';
import pino from 'pino';
import { type DemoBackend, type DemoBackendOptions, startDemoBackend } from '../backend/index.ts';
import { applyDemoSchema } from '../schema/index.ts';
import { seedDemoData } from '../seed/index.ts';

export const APP_AUDIENCE = 'powersync-dev';
export const PROBE_AUDIENCE = 'syncscope-probe';

export interface DemoHarness {
  backend: DemoBackend;
  pool: pg.Pool;
  appUrl: string;
  key: SigningKey;
  login(email: string): Promise<string>;
  // Tests assert on the raw JSON of both answer shapes ({results} and {error}), so it stays untyped here.
  // biome-ignore lint/suspicious/noExplicitAny: raw response JSON for test assertions
  upload(session: string, batch: unknown[]): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** The demo schema and seed in a throw-away database, with the backend on a free port. */
export async function startDemoHarness(
  name: string,
  options: {
    demoMode?: boolean;
    powersyncUrl?: string;
    tokenTtlSeconds?: number;
    onResults?: DemoBackendOptions['onResults'];
    logger?: Logger;
  } = {}
): Promise<DemoHarness> {
  const appUrl = await createTestDatabase(name);
  const pool = new pg.Pool({ connectionString: appUrl, max: 6 });
  await applyDemoSchema(pool);
  await seedDemoData(pool, { records: 200 });
  const key = await loadOrCreateSigningKey(
    await mkdtemp(path.join(os.tmpdir(), 'syncscope-keys-')),
    'test-app'
  );
  const backend = await startDemoBackend({
    host: '127.0.0.1',
    port: await findFreePort(),
    appDatabaseUrl: appUrl,
    signingKey: key,
    audience: APP_AUDIENCE,
    probeAudience: PROBE_AUDIENCE,
    powersyncUrl: options.powersyncUrl ?? 'http://127.0.0.1:7001',
    demoMode: options.demoMode ?? true,
    tokenTtlSeconds: options.tokenTtlSeconds,
    onResults: options.onResults,
    logger: options.logger ?? pino({ level: 'silent' })
  });
  return {
    backend,
    pool,
    appUrl,
    key,
    async login(email) {
      const response = await fetch(`${backend.url}/api/dev/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email })
      });
      if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { session: string }).session;
    },
    async upload(session, batch) {
      const response = await fetch(`${backend.url}/api/upload`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session}` },
        body: JSON.stringify({ batch })
      });
      return { status: response.status, body: await response.json() };
    },
    async close() {
      await backend.close();
      await pool.end();
    }
  };
}
