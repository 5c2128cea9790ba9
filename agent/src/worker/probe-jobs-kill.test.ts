/**
 * Three agent processes (testing/job-runner-process.ts: the agent's job runner alone, so a restart claims
 * again within seconds; the whole `syncscope agent` is killed mid-probe in probe-job-runner.test.ts) run
 * 300 console jobs while agents are `kill -9`ed and restarted at random. Every job must reach a final
 * state, no job may get two runs for one attempt or two final runs, and every job must finish within the
 * bound. Prints one figure line: JOBS-KILL-FIGURE.
 *
 * This is a test of the queue's mechanics: the engine is replaced by a light probe (50–300 ms, honours
 * its signal), because a real probe costs seconds of CPU on a shared 2-core machine (300 real probes of
 * the smallest user took over 10 minutes there). Everything else is the runner's real path: claim under a
 * lease, resolving the target from the targets file, heartbeats with progress, the lease-checked
 * transaction that stores the run, its audit entry and the job's state.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { enqueueProbeJob } from '@syncscope/core/probe-jobs/probe-jobs';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  harnessTargetEntry,
  harnessTargetEnv,
  type ProbeHarness,
  RULES_FILE,
  startProbeHarness
} from '../probe-integration/probe-harness.ts';

const RUNNER = fileURLToPath(new URL('./testing/job-runner-process.ts', import.meta.url));
const JOBS = 300;
const AGENTS = 3;
/** Kills stop after this many, so the test ends; enough for jobs to lose agents mid-probe many times. */
const MAX_KILLS = 25;
/** Every job must be final within this long of its enqueueing. */
const BOUND_MS = 180_000;

let h: ProbeHarness;
let opsUrl: string;
let ops: OpsDatabase;
let targetsFile: string;
let env: NodeJS.ProcessEnv;
const agents: (ChildProcess | null)[] = [];

beforeAll(async () => {
  h = await startProbeHarness('jobs_kill300');
  opsUrl = await createTestDatabase('jobs_kill300_queue');
  await migrateOpsDatabase(opsUrl);
  ops = new OpsDatabase(opsUrl);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-jobs-kill-'));
  targetsFile = path.join(dir, 'targets.yaml');
  await writeFile(targetsFile, `targets:\n${harnessTargetEntry(h, 'jobs', RULES_FILE)}`);
  env = {
    ...process.env,
    ...harnessTargetEnv(h, 'jobs'),
    SYNCSCOPE_LOG_LEVEL: 'warn',
    SYNCSCOPE_AGENT_TOKEN: 'agent-token-0123456789-abcdef'
  };
}, 120_000);

afterAll(async () => {
  for (const agent of agents) agent?.kill('SIGKILL');
  await ops?.close();
  await h?.close();
});

function startAgent(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', RUNNER, opsUrl, targetsFile, 'light'], {
    env,
    stdio: 'ignore'
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function unfinished(): Promise<number> {
  const { rows } = await ops.pool.query(
    "SELECT count(*)::int AS n FROM syncscope.probe_jobs WHERE status NOT IN ('done', 'failed')"
  );
  return rows[0].n;
}

describe('console jobs under agent kills', () => {
  it(
    `queue mechanics (light probe in place of the engine): ${JOBS} jobs, ${AGENTS} agent processes kill -9ed and restarted at random: 0 lost, 0 duplicate results, all within ${BOUND_MS / 1000} s`,
    async () => {
      const started = Date.now();
      for (let i = 0; i < JOBS; i++)
        await enqueueProbeJob(ops.pool, {
          target: 'jobs',
          userId: DEMO_USERS.carol.id,
          reason: `kill test job ${i}`,
          requestedBy: 'operator@example.com'
        });
      for (let i = 0; i < AGENTS; i++) agents.push(startAgent());

      // The killer: every 1–3 s one agent at random gets SIGKILL and comes back 0.5–1.5 s later.
      let kills = 0;
      while (kills < MAX_KILLS && (await unfinished()) > 0 && Date.now() - started < BOUND_MS) {
        await sleep(1_000 + Math.random() * 2_000);
        if ((await unfinished()) === 0) break;
        const victim = Math.floor(Math.random() * AGENTS);
        agents[victim]?.kill('SIGKILL');
        kills++;
        await sleep(500 + Math.random() * 1_000);
        agents[victim] = startAgent();
      }
      while ((await unfinished()) > 0 && Date.now() - started < BOUND_MS) await sleep(500);
      const totalMs = Date.now() - started;
      for (const agent of agents) agent?.kill('SIGTERM');

      const jobs = await ops.pool.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM syncscope.probe_jobs GROUP BY status ORDER BY status'
      );
      const byStatus = Object.fromEntries(jobs.rows.map((r) => [r.status, r.n]));
      const lost = JOBS - (byStatus.done ?? 0) - (byStatus.failed ?? 0);
      const duplicates = await ops.pool.query(
        `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM syncscope.probe_runs WHERE job_id IS NOT NULL
                GROUP BY job_id, attempt HAVING count(*) > 1) d) AS per_attempt,
              (SELECT count(*)::int FROM (SELECT 1 FROM syncscope.probe_runs WHERE final
                GROUP BY job_id HAVING count(*) > 1) f) AS final`
      );
      const latency = await ops.pool.query(
        `SELECT max(extract(epoch FROM finished_at - created_at))::float8 AS max_s,
              sum(attempts)::int AS attempts,
              count(*) FILTER (WHERE attempts > 1)::int AS retried
       FROM syncscope.probe_jobs`
      );
      // Each done job's result is its one final run, a consistent one (a light probe is never anything else).
      const results = await ops.pool.query<{ verdict: string; n: number }>(
        `SELECT r.verdict, count(*)::int AS n FROM syncscope.probe_jobs j
       JOIN syncscope.probe_runs r ON r.id = j.run_id AND r.final AND r.job_id = j.id
       WHERE j.status = 'done' GROUP BY r.verdict`
      );
      const failed = await ops.pool.query<{ error: string; attempts: number; max: number }>(
        `SELECT error, attempts, max_attempts AS max FROM syncscope.probe_jobs WHERE status = 'failed'`
      );
      const { max_s: maxLatencyS, attempts, retried } = latency.rows[0];
      const { per_attempt: duplicateAttempts, final: duplicateFinals } = duplicates.rows[0];
      console.log(
        `JOBS-KILL-FIGURE: ${JOBS} jobs, ${AGENTS} agents, ${kills} kills: ${lost} lost, ${duplicateAttempts + duplicateFinals} duplicate results; total ${(totalMs / 1000).toFixed(1)} s, max job latency ${maxLatencyS.toFixed(1)} s (bound ${BOUND_MS / 1000} s); done ${byStatus.done ?? 0}, failed ${byStatus.failed ?? 0}; ${attempts} attempts, ${retried} jobs retried`
      );

      expect(lost).toBe(0);
      expect({ duplicateAttempts, duplicateFinals }).toEqual({ duplicateAttempts: 0, duplicateFinals: 0 });
      expect(kills).toBeGreaterThanOrEqual(5);
      expect(retried).toBeGreaterThan(0);
      expect(maxLatencyS * 1000).toBeLessThan(BOUND_MS);
      expect(Object.fromEntries(results.rows.map((r) => [r.verdict, r.n]))).toEqual({
        consistent: byStatus.done
      });
      // A job fails only by running out of attempts, every one of them ended by a kill.
      for (const job of failed.rows) {
        expect(job.attempts).toBe(job.max);
        expect(job.error).toMatch(/stopped responding during attempt \d+ .*; no attempts left/);
      }
    },
    BOUND_MS + 60_000
  );
});
