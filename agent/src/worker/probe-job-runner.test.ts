import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { enqueueProbeJob, getProbeJob, type ProbeJob } from '@syncscope/core/probe-jobs/probe-jobs';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import {
  PROBE_AUDIENCE,
  PROBE_KID,
  type ProbeHarness,
  RULES_FILE,
  startProbeHarness
} from '../probe-integration/probe-harness.ts';
import { startProbeJobRunner } from './probe-job-runner.ts';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
let h: ProbeHarness;
let opsUrl: string;
let ops: OpsDatabase;
let targetsFile: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  h = await startProbeHarness('jobs_kill');
  opsUrl = await createTestDatabase('jobs_kill_ops');
  await migrateOpsDatabase(opsUrl);
  ops = new OpsDatabase(opsUrl);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-jobs-'));
  targetsFile = path.join(dir, 'targets.yaml');
  await writeFile(
    targetsFile,
    [
      'targets:',
      '  jobs:',
      `    sync_url: ${h.target.syncUrl}`,
      '    source_url: !env JOBS_SOURCE_URL',
      `    sync_rules: { path: ${RULES_FILE} }`,
      `    signing_key: { kid: ${PROBE_KID}, hs256_secret: !env JOBS_PROBE_SECRET, encoding: base64url }`,
      `    audience: ${PROBE_AUDIENCE}`,
      ''
    ].join('\n')
  );
  env = {
    ...process.env,
    JOBS_SOURCE_URL: h.target.sourceUrl,
    JOBS_PROBE_SECRET: Buffer.from(h.secret).toString('base64url'),
    SYNCSCOPE_LOG_LEVEL: 'warn',
    SYNCSCOPE_AGENT_TOKEN: 'agent-token-0123456789-abcdef'
  };
}, 120_000);

afterAll(async () => {
  await ops?.close();
  await h?.close();
});

async function waitForJob(id: string, check: (job: ProbeJob) => boolean, ms = 60_000): Promise<ProbeJob> {
  const until = Date.now() + ms;
  for (;;) {
    const job = await getProbeJob(ops.pool, id);
    if (job && check(job)) return job;
    if (Date.now() > until) throw new Error(`job ${id} never got there: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the agent's probe jobs", () => {
  it('a job whose agent is killed mid-probe is run again by another agent, and nothing is lost', async () => {
    const job = await enqueueProbeJob(ops.pool, {
      target: 'jobs',
      userId: DEMO_USERS.alice.id,
      reason: 'ticket 42: missing rows',
      requestedBy: 'operator@example.com'
    });
    // A slow stream keeps the first agent in its sync phase long enough to kill it there.
    h.sync.faults.set({ delayMs: 20_000 });
    const doomed: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'agent',
        '--port',
        '0',
        '--targets',
        targetsFile,
        '--ops-db',
        opsUrl,
        '--job-lease-seconds',
        '1.5'
      ],
      { env, stdio: 'ignore' }
    );
    try {
      // Sync and the expected state run side by side: either phase means the client is syncing.
      const running = await waitForJob(
        job.id,
        (j) => j.status === 'running' && ['sync', 'expected'].includes(j.progress.phase ?? '')
      );
      expect(running.agent).toMatch(new RegExp(`:${doomed.pid}$`));
      doomed.kill('SIGKILL');
    } finally {
      doomed.kill('SIGKILL');
    }
    h.sync.faults.set({});

    const survivor = await startProbeJobRunner({
      opsDatabaseUrl: opsUrl,
      ops,
      targets: targetsSource(targetsFile, env),
      logger: createLogger('survivor', 'silent'),
      scrubber: new SecretScrubber(),
      agentName: 'survivor',
      leaseMs: 1_500
    });
    try {
      const done = await waitForJob(job.id, (j) => j.status === 'done');
      expect(done).toMatchObject({ agent: 'survivor', attempts: 2 });
      expect(done.error).toMatch(/stopped responding during attempt 1 .*queued again/);
      const run = await ops.pool.query(
        'SELECT verdict, job_id, requested_by, report FROM syncscope.probe_runs WHERE id = $1',
        [done.runId]
      );
      expect(run.rows[0]).toMatchObject({
        verdict: 'consistent',
        job_id: job.id,
        requested_by: 'operator@example.com'
      });
      // Both attempts' tokens are audited, as the operator who asked and with their reason.
      const minted = await ops.pool.query(
        "SELECT actor, reason, details->>'jti' AS jti FROM syncscope.audit_log WHERE action = 'probe.token_minted' AND subject_user = $1",
        [DEMO_USERS.alice.id]
      );
      expect(minted.rows.length).toBe(2);
      for (const row of minted.rows)
        expect(row).toMatchObject({ actor: 'operator@example.com', reason: 'ticket 42: missing rows' });
      expect(run.rows[0].report.token.jti).toBe(minted.rows[1].jti);
    } finally {
      await survivor.stop();
    }
  }, 120_000);
});
