import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@syncscope/core';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { enqueueProbeJob, getProbeJob, type ProbeJob } from '@syncscope/core/probe-jobs/probe-jobs';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../../output/secret-scrubber.ts';
import { startProbeJobRunner } from '../../worker/probe-job-runner.ts';
import {
  harnessTargetEnv,
  PROBE_AUDIENCE,
  PROBE_KID,
  type ProbeHarness,
  RULES_FILE,
  startProbeHarness
} from '../probe-harness.ts';
import { proxiedSync } from './fault-harness.ts';

describe('fault: the sync service killed during a console job', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_service_killed_job');
  });
  afterAll(async () => h?.close());

  const waitForJob = async (id: string, check: (job: ProbeJob) => boolean, ms = 60_000) => {
    const until = Date.now() + ms;
    for (;;) {
      const job = await getProbeJob(h.ops.pool, id);
      if (job && check(job)) return job;
      if (Date.now() > until) throw new Error(`job ${id} never got there: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('attempt 1 is inconclusive while the service is down; the job is retried with backoff and ends consistent', async () => {
    const { proxy, target } = await proxiedSync(h);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-fault-job-'));
    const targetsFile = path.join(dir, 'targets.yaml');
    await writeFile(
      targetsFile,
      [
        'targets:',
        '  faultjob:',
        `    sync_url: ${target.syncUrl}`,
        '    source_url: !env FAULTJOB_SOURCE_URL',
        `    sync_rules: { path: ${RULES_FILE} }`,
        `    signing_key: { kid: ${PROBE_KID}, hs256_secret: !env FAULTJOB_PROBE_SECRET }`,
        `    audience: ${PROBE_AUDIENCE}`,
        ''
      ].join('\n')
    );
    // The stream slowed so the service is stopped while the first attempt downloads.
    proxy.setFault({ bytesPerSecond: 16 * 1024 });
    const runner = await startProbeJobRunner({
      opsDatabaseUrl: h.ops.pool.options.connectionString!,
      ops: h.ops,
      targets: targetsSource(targetsFile, { ...process.env, ...harnessTargetEnv(h, 'faultjob') }),
      logger: createLogger('fault-job', 'silent'),
      scrubber: new SecretScrubber(),
      agentName: 'fault-job',
      retry: { baseMs: 1_000, capMs: 1_000, jitter: 0 }
    });
    try {
      const job = await enqueueProbeJob(h.ops.pool, {
        target: 'faultjob',
        userId: DEMO_USERS.alice.id,
        reason: 'fault test: service killed',
        requestedBy: 'operator@example.com'
      });
      await waitForJob(
        job.id,
        (j) => j.status === 'running' && (j.progress.phase === 'sync' || j.progress.phase === 'expected')
      );
      // As a killed host: its connections reset, its port refuses.
      proxy.resetAll();
      await h.sync.close();
      const waiting = await waitForJob(job.id, (j) => j.status !== 'running');
      expect(waiting.status).toBe('retry_wait');
      await h.startSync();
      proxy.setFault({});
      const done = await waitForJob(job.id, (j) => j.status === 'done' || j.status === 'failed');
      const { rows: runs } = await h.ops.pool.query<{
        attempt: number;
        verdict: string;
        code: string | null;
        final: boolean | null;
      }>(
        `SELECT attempt, verdict, report->'reason'->>'code' AS code, final FROM syncscope.probe_runs
          WHERE job_id = $1 ORDER BY attempt`,
        [job.id]
      );
      console.log(
        `FAULT service-killed-job: ${done.attempts} attempts: ${runs.map((r) => `${r.attempt}: ${r.verdict}${r.code ? ` (${r.code})` : ''}`).join(', ')}`
      );
      expect(done).toMatchObject({ status: 'done', attempts: 2 });
      expect(runs).toHaveLength(2);
      expect(runs[0]!.verdict).toBe('inconclusive');
      expect(runs[0]!.code).toBe('SYNCSCOPE_E_SERVICE_UNREACHABLE');
      expect(runs[1]).toMatchObject({ verdict: 'consistent', final: true });
    } finally {
      await runner.stop();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
