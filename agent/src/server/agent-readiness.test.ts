import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { createTestDatabase, execSql, testPgUrl } from '@syncscope/core/testing/test-database';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { targetsSource } from '../probe/resolve-target.ts';
import { startAgentServer } from './agent-server.ts';

const TOKEN = 'agent-token-0123456789-abcdef';
let dir: string;
let targetsFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-readiness-'));
  targetsFile = path.join(dir, 'targets.yaml');
  await writeFile(
    targetsFile,
    `targets:
  prod:
    sync_url: http://127.0.0.1:1
    source_url: postgres://probe@127.0.0.1:1/app
    sync_rules: { from_admin_api: true }
    admin_url: http://127.0.0.1:1
    admin_token: !env ADMIN
    signing_key: { kid: probe-1, hs256_secret: !env HS }
    audience: syncscope-probe
`
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An agent on `ops`, asked GET /readyz and GET /healthz as Kubernetes' kubelet asks: by its address. */
async function probeAgent(ops: OpsDatabase | undefined) {
  const agent = await startAgentServer({
    host: '127.0.0.1',
    port: 0,
    targets: targetsSource(targetsFile, {
      ADMIN: 'admin-token',
      HS: Buffer.alloc(32, 1).toString('base64url')
    }),
    logger: pino({ level: 'silent' }),
    scrubber: new SecretScrubber(),
    token: TOKEN,
    ops
  });
  try {
    const ready = await fetch(`${agent.url}/readyz`);
    const live = await fetch(`${agent.url}/healthz`);
    return { status: ready.status, body: await ready.json(), live: live.status };
  } finally {
    await agent.close();
  }
}

describe('GET /readyz', () => {
  it('is 200 while the ops database answers and is migrated', async () => {
    const url = await createTestDatabase('agent_ready');
    await migrateOpsDatabase(url);
    const ops = new OpsDatabase(url);
    try {
      expect(await probeAgent(ops)).toEqual({
        status: 200,
        body: { ready: true, opsDatabase: 'ok' },
        live: 200
      });
    } finally {
      await ops.close();
    }
  });

  it('is 503 SYNCSCOPE_E_OPS_DB_NOT_MIGRATED before the setup job migrated the database, still live', async () => {
    const ops = new OpsDatabase(await createTestDatabase('agent_ready_unmigrated'));
    try {
      const { status, body, live } = await probeAgent(ops);
      expect({ status, code: body.error.code, live }).toEqual({
        status: 503,
        code: 'SYNCSCOPE_E_OPS_DB_NOT_MIGRATED',
        live: 200
      });
    } finally {
      await ops.close();
    }
  });

  it('is 503 SYNCSCOPE_E_OPS_DB_UNREACHABLE once the database is gone, without the URL in the answer', async () => {
    const url = await createTestDatabase('agent_ready_gone');
    await migrateOpsDatabase(url);
    const ops = new OpsDatabase(url);
    await ops.close();
    await execSql(testPgUrl('postgres'), 'DROP DATABASE agent_ready_gone WITH (FORCE)');
    const { status, body, live } = await probeAgent(ops);
    expect({ status, code: body.error.code, live }).toEqual({
      status: 503,
      code: 'SYNCSCOPE_E_OPS_DB_UNREACHABLE',
      live: 200
    });
    expect(body.error.message).toMatch(/SYNCSCOPE_OPS_DATABASE_URL.*agent_ready_gone/);
    expect(JSON.stringify(body)).not.toContain(new URL(url).password || '\u0000');
  });

  it('is 200 for an agent run without an ops database (it serves metrics and keys, and refuses probes)', async () => {
    expect(await probeAgent(undefined)).toEqual({
      status: 200,
      body: { ready: true, opsDatabase: 'not configured' },
      live: 200
    });
  });
});
