import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../testing/test-database.ts';
import { migrateOpsDatabase } from './ops-database.ts';
import { checkOpsDatabaseReady } from './ops-readiness.ts';

/** A server that accepts connections and never answers: a Postgres behind a dead network path. */
let silent: net.Server;
const held: net.Socket[] = [];

beforeAll(async () => {
  silent = net.createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('checkOpsDatabaseReady', () => {
  it('is ready once the ops database is migrated, and not before (the setup job has not run)', async () => {
    const url = await createTestDatabase('ops_readiness');
    expect(await checkOpsDatabaseReady(url)).toEqual({
      ready: false,
      code: 'SYNCSCOPE_E_OPS_DB_NOT_MIGRATED',
      message: expect.stringContaining('run the setup')
    });
    await migrateOpsDatabase(url);
    expect(await checkOpsDatabaseReady(url)).toEqual({ ready: true });
  });

  it('is not ready, within its timeout, when the database accepts but never answers', async () => {
    const { port } = silent.address() as net.AddressInfo;
    const started = Date.now();
    const readiness = await checkOpsDatabaseReady(
      `postgres://syncscope_agent:hunter2-secret@127.0.0.1:${port}/syncscope`,
      300
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(readiness).toMatchObject({ ready: false, code: 'SYNCSCOPE_E_OPS_DB_UNREACHABLE' });
    if (readiness.ready) return;
    expect(readiness.message).toContain('SYNCSCOPE_OPS_DATABASE_URL');
    expect(readiness.message).not.toContain('hunter2-secret');
  });

  it('is not ready when nothing listens, naming the variable to check', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const readiness = await checkOpsDatabaseReady(`postgres://u:p@127.0.0.1:${port}/syncscope`);
    expect(readiness).toMatchObject({
      ready: false,
      code: 'SYNCSCOPE_E_OPS_DB_UNREACHABLE',
      message: expect.stringMatching(/SYNCSCOPE_OPS_DATABASE_URL.*ECONNREFUSED/)
    });
  });
});
