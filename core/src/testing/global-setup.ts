import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../embedded-postgres/embedded-postgres.ts';
import { findFreePort } from '../net/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test run's embedded Postgres with `{db}` where the database name goes. */
    pgUrlTemplate: string;
  }
}

/** One real Postgres (wal_level=logical) for the whole test run, in a throw-away folder. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-test-pg-'));
  const port = await findFreePort();
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port,
    host: '127.0.0.1',
    user: 'postgres',
    password: 'postgres'
  });
  project.provide('pgUrlTemplate', postgres.url('{db}'));
  return async () => {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
