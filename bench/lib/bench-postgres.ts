import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '@syncscope/core';
import { startEmbeddedPostgres } from '@syncscope/core/embedded-postgres/embedded-postgres';
import pg from 'pg';

/** A throw-away embedded Postgres for one benchmark process. */
export async function startBenchPostgres() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-bench-pg-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: await findFreePort(),
    host: '127.0.0.1',
    user: 'postgres',
    password: 'postgres'
  });
  return {
    url: postgres.url,
    async createDatabase(name: string): Promise<string> {
      const admin = new pg.Client({ connectionString: postgres.url('postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return postgres.url(name);
    },
    async stop() {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    }
  };
}
