import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger, findFreePort } from '@syncscope/core';
import { fillDemoTargetEnv } from '@syncscope/core/probe/targets/demo-target';
import type { WriteProbeReport } from '@syncscope/core/write-probe/write-probe-types';
import { DEMO_WRITE_PROBE } from '@syncscope/demo/seed/seed-plan';
import { freeStackPorts } from '@syncscope/demo/stack/free-stack-ports';
import { type RunningStack, startStack } from '@syncscope/demo/stack/start-stack';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from './run-cli-captured.ts';

let stack: RunningStack;
let env: NodeJS.ProcessEnv;
let app: pg.Pool;

beforeAll(async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), 'syncscope-write-probe-'));
  env = {
    ...process.env,
    SYNCSCOPE_HOME: home,
    ...(await freeStackPorts()),
    SYNCSCOPE_CONSOLE: 'off',
    SYNCSCOPE_SEED_RECORDS: '100',
    SYNCSCOPE_LOG_LEVEL: 'silent'
  };
  stack = await startStack({ logger: createLogger('write-probe-test', 'silent'), env });
  app = new pg.Pool({ connectionString: stack.urls.postgres('app'), max: 2 });
}, 120_000);

afterAll(async () => {
  await app?.end();
  await stack?.stop();
});

async function writeProbe(extra: string[] = [], cliEnv = env) {
  const { code, stdout, stderr } = await runCliCaptured(
    ['write-probe', '--target', 'demo', '--json', '--leg-timeout', '4', ...extra],
    { env: cliEnv }
  );
  return { code, report: JSON.parse(stdout) as WriteProbeReport, stdout, stderr };
}

async function setFaults(body: unknown) {
  const token = (await readFile(path.join(env.SYNCSCOPE_HOME!, 'secrets', 'sync-api-token'), 'utf8')).trim();
  await fetch(`${stack.urls.sync}/api/dev/v1/faults`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  });
}

describe('syncscope write-probe against the embedded stack', () => {
  it('passes on the healthy stack, times every leg, cleans up, and is stored and audited', async () => {
    const { code, report, stdout, stderr } = await writeProbe();
    expect(code, `${report.summary ?? stdout} ${stderr}`).toBe(0);
    expect(report.legs.map((l) => `${l.leg}:${l.status}`)).toEqual([
      'local-write:passed',
      'backend-accepted:passed',
      'visible-in-postgres:passed',
      'replicated-back:passed',
      'write-checkpoint:passed'
    ]);
    expect(report.cleanup).toBe('done');
    expect((await app.query('SELECT 1 FROM records WHERE id = $1', [report.rowId])).rowCount).toBe(0);
    expect(stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/); // no token printed
    const ops = new pg.Pool({ connectionString: stack.urls.postgres('syncscope'), max: 1 });
    try {
      const run = await ops.query(
        "SELECT kind, verdict FROM syncscope.probe_runs WHERE report->>'rowId' = $1",
        [report.rowId]
      );
      expect(run.rows).toEqual([{ kind: 'write', verdict: 'consistent' }]);
      const audit = await ops.query(
        "SELECT subject_user FROM syncscope.audit_log WHERE action = 'probe.token_minted' AND details->>'jti' = $1",
        [report.token.jti]
      );
      expect(audit.rows).toEqual([{ subject_user: DEMO_WRITE_PROBE.userId }]);
    } finally {
      await ops.end();
    }
  });

  it('--json from the real command is nothing but the report: the client library logs nothing to stdout', async () => {
    // A separate process: the client's console logging reaches the real stdout, not a captured stream.
    // (Asynchronous: the stack it talks to runs in this process.)
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'agent/src/cli.ts', 'write-probe', '--target', 'demo', '--json', '--leg-timeout', '4'],
      { env, encoding: 'utf8' }
    );
    expect((JSON.parse(stdout) as WriteProbeReport).kind).toBe('write');
  });

  it('names the backend leg when the backend rejects the write', async () => {
    await app.query('DELETE FROM workspace_memberships WHERE user_id = $1', [DEMO_WRITE_PROBE.userId]);
    try {
      const { code, report } = await writeProbe();
      expect(code).toBe(1);
      expect(report.verdict).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_WRITE_NOT_APPLIED');
      expect(report.failedLeg).toBe('backend-accepted');
      expect(report.summary).toMatch(/backend rejected it: DEMO_E_FORBIDDEN/);
      expect(report.legs.slice(2).every((l) => l.status === 'skipped')).toBe(true);
    } finally {
      await app.query(
        "INSERT INTO workspace_memberships (id, user_id, workspace_id, role) VALUES (gen_random_uuid()::text, $1, $2, 'owner')",
        [DEMO_WRITE_PROBE.userId, DEMO_WRITE_PROBE.workspaceId]
      );
    }
  });

  it('names the write-checkpoint leg when the sync service never echoes it', async () => {
    await setFaults({ neverEchoWriteCheckpoints: true });
    try {
      const { code, report } = await writeProbe();
      expect(code).toBe(1);
      expect(report.reason?.code).toBe('SYNCSCOPE_E_WRITE_CHECKPOINT_NOT_ECHOED');
      expect(report.failedLeg).toBe('write-checkpoint');
      expect(report.legs.filter((l) => l.status === 'passed').map((l) => l.leg)).toEqual([
        'local-write',
        'backend-accepted',
        'visible-in-postgres',
        'replicated-back'
      ]);
    } finally {
      await setFaults({});
    }
  });

  it('names the backend leg when the backend is down: inconclusive (an outage), exit 2', async () => {
    // The same target with its upload URL pointing at a port nobody listens on.
    const filled = { ...env };
    await fillDemoTargetEnv(filled, env.SYNCSCOPE_HOME);
    const original = await readFile(path.join(env.SYNCSCOPE_HOME!, 'targets.yaml'), 'utf8');
    const down = path.join(env.SYNCSCOPE_HOME!, 'targets-backend-down.yaml');
    await writeFile(
      down,
      original.replace(/upload_url: .*/, `upload_url: http://127.0.0.1:${await findFreePort()}/api/upload`)
    );
    const { code, report } = await writeProbe(['--targets', down], filled);
    expect(code).toBe(2);
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_UNREACHABLE');
    expect(report.failedLeg).toBe('backend-accepted');
    expect(report.summary).toMatch(/backend is unreachable.*ECONNREFUSED/);
  });
});
