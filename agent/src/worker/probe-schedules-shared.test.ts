/**
 * Schedules shared by several agents: three agents (each its own scheduler and job runner, in this
 * process) expand one sweep and run its jobs, with a per-target limit, over a few hundred users. What an
 * operator would check: every user probed exactly once in the period, never more than the limit at once,
 * the users who were not consistent first, the population counted; a sample draws N distinct users per
 * interval; a bad users_query is refused with the fix.
 *
 * The probes are a light stand-in (testing/light-probe.ts; 20–60 ms each): this is about which jobs run
 * where and when. probe-scheduler.test.ts runs real probes from a schedule end to end.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeSchedule, ProbeTarget } from '@syncscope/core/probe/probe-types';
import type { ProbeJobWorker } from '@syncscope/core/probe-jobs/probe-job-worker';
import { expandSchedules } from '@syncscope/core/schedules/expand-schedules';
import { probeReportFixture } from '@syncscope/core/testing/probe-report-fixture';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { workspaceId } from '@syncscope/demo/seed/seed-plan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../metrics/agent-metrics.ts';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import type { ProbeRequest } from '../probe/probe-target.ts';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import {
  harnessTargetEntry,
  harnessTargetEnv,
  type ProbeHarness,
  RULES_FILE,
  startProbeHarness
} from '../probe-integration/probe-harness.ts';
import { startProbeJobRunner } from './probe-job-runner.ts';
import { startProbeScheduler } from './probe-scheduler.ts';
import { lightProbe } from './testing/light-probe.ts';

const EXTRA_USERS = 300;
const LIMIT = 3;
const USERS_QUERY = 'SELECT user_id FROM workspace_memberships';

let h: ProbeHarness;
let ops: OpsDatabase;
let opsUrl: string;
let targetsFile: string;
let env: NodeJS.ProcessEnv;
const scrubber = new SecretScrubber();
const logger = createLogger('schedules-test', 'silent');

/** The users the query lists, straight from the source. */
async function sourceUsers(): Promise<string[]> {
  const { rows } = await h.pool.query<{ user_id: string }>(
    'SELECT DISTINCT user_id FROM workspace_memberships ORDER BY 1'
  );
  return rows.map((r) => r.user_id);
}

beforeAll(async () => {
  h = await startProbeHarness('schedules_shared');
  await h.pool.query(
    `INSERT INTO users (id, email, name)
       SELECT 'sweep-user-' || lpad(i::text, 4, '0'), 'sweep' || i || '@example.com', 'Sweep ' || i
       FROM generate_series(1, ${EXTRA_USERS}) i;
     INSERT INTO workspace_memberships (id, user_id, workspace_id, role)
       SELECT 'sweep-membership-' || i, 'sweep-user-' || lpad(i::text, 4, '0'), '${workspaceId(1)}', 'member'
       FROM generate_series(1, ${EXTRA_USERS}) i`
  );
  opsUrl = await createTestDatabase('schedules_shared_queue');
  await migrateOpsDatabase(opsUrl);
  ops = new OpsDatabase(opsUrl);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-schedules-'));
  targetsFile = path.join(dir, 'targets.yaml');
  const entry = (name: string, lines: string[]) =>
    harnessTargetEntry(h, name, RULES_FILE).replace(/\n$/, `\n${lines.map((l) => `    ${l}`).join('\n')}\n`);
  await writeFile(
    targetsFile,
    `targets:\n${entry('sweep', [
      `max_concurrent_probes: ${LIMIT}`,
      'schedule:',
      '  sweep: { period_seconds: 3600 }',
      `  users_query: ${USERS_QUERY}`,
      '  mode: light'
    ])}${entry('sampled', ['schedule:', '  sample: 7', '  every_seconds: 60', `  users_query: ${USERS_QUERY}`])}`
  );
  env = { ...process.env, ...harnessTargetEnv(h, 'sweep'), ...harnessTargetEnv(h, 'sampled') };
}, 120_000);

afterAll(async () => {
  await ops?.close();
  await h?.close();
});

describe('a sweep shared by three agents', () => {
  it(`probes every user exactly once, at most ${LIMIT} at a time, the not-consistent first`, async () => {
    const users = await sourceUsers();
    expect(users.length).toBeGreaterThan(EXTRA_USERS);
    // Five users whose last probe found a mismatch: the sweep must take them first.
    const unsettled = users.filter((u) => u.startsWith('sweep-user-02')).slice(0, 5);
    for (const userId of unsettled)
      await ops.recordProbeRun(probeReportFixture('mismatch', { target: 'sweep', userId }));

    let running = 0;
    let mostAtOnce = 0;
    const countingProbe = async (request: ProbeRequest) => {
      if (request.target.name !== 'sweep') return lightProbe(request);
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      try {
        return await lightProbe(request, () => 7 + Math.random() * 13);
      } finally {
        running--;
      }
    };
    const targets = targetsSource(targetsFile, env);
    const agents = ['agent-a', 'agent-b', 'agent-c'];
    const runners: ProbeJobWorker[] = [];
    const schedulers = [];
    for (const agentName of agents) {
      runners.push(
        await startProbeJobRunner({
          opsDatabaseUrl: opsUrl,
          ops,
          targets,
          logger,
          scrubber,
          agentName,
          concurrency: 3,
          pollMs: 200,
          readProbe: countingProbe
        })
      );
    }
    for (const agentName of agents)
      schedulers.push(
        await startProbeScheduler({
          targets,
          logger,
          scrubber,
          ops,
          agentName,
          tickMs: 200,
          pageSize: 40,
          maxWaiting: 60
        })
      );

    const runs = async () =>
      (
        await ops.pool.query<{ userId: string; n: number; agent: string }>(
          `SELECT r.user_id AS "userId", count(*)::int AS n, min(j.agent) AS agent
           FROM syncscope.probe_runs r JOIN syncscope.probe_jobs j ON j.id = r.job_id
           WHERE r.target = 'sweep' GROUP BY r.user_id`
        )
      ).rows;
    const until = Date.now() + 150_000;
    while ((await runs()).length < users.length && Date.now() < until)
      await new Promise((r) => setTimeout(r, 250));
    // A further tick of every agent must add nothing: the period is done.
    for (const scheduler of schedulers) await scheduler.tick();
    await new Promise((r) => setTimeout(r, 1_000));
    for (const scheduler of schedulers) await scheduler.stop();
    for (const runner of runners) await runner.stop();

    const done = await runs();
    expect(done.map((r) => r.userId).sort()).toEqual(users);
    expect(done.filter((r) => r.n !== 1)).toEqual([]);
    // The agents shared the work, and the limit held while all three wanted more.
    expect(new Set(done.map((r) => r.agent)).size).toBe(agents.length);
    expect(mostAtOnce).toBe(LIMIT);
    const order = await ops.pool.query<{ userId: string }>(
      `SELECT user_id AS "userId" FROM syncscope.probe_runs WHERE target = 'sweep' AND job_id IS NOT NULL
       ORDER BY started_at LIMIT 5`
    );
    expect(order.rows.map((r) => r.userId).sort()).toEqual([...unsettled].sort());
    const jobs = await ops.pool.query(
      `SELECT DISTINCT mode, requested_by LIKE 'schedule:agent-_' AS by_agent FROM syncscope.probe_jobs WHERE target = 'sweep'`
    );
    expect(jobs.rows).toEqual([{ mode: 'light', by_agent: true }]);
    const population = await ops.pool.query(
      `SELECT users::int FROM syncscope.target_population WHERE target = 'sweep'`
    );
    expect(population.rows).toEqual([{ users: users.length }]);
  }, 200_000);
});

describe('samples and users_query errors', () => {
  const scheduled = async (name: string, schedule: Partial<ProbeSchedule> = {}) => {
    const target = await resolveTarget(targetsSource(targetsFile, env), name, scrubber);
    return { ...target, schedule: { ...target.schedule!, ...schedule } } as ProbeTarget & {
      schedule: ProbeSchedule;
    };
  };
  const jobsOfPeriod = async (periodStart: string) =>
    (
      await ops.pool.query<{ userId: string }>(
        `SELECT user_id AS "userId" FROM syncscope.probe_jobs WHERE target = 'sampled' AND dedup_key LIKE '%' || $1 || '%'`,
        [periodStart]
      )
    ).rows.map((r) => r.userId);

  it('a sample picks N distinct users per interval, once whoever expands it, and others the next interval', async () => {
    const target = await scheduled('sampled');
    const first = new Date('2030-01-01T00:00:30Z');
    const next = new Date('2030-01-01T00:01:30Z');
    const steps = await expandSchedules({ pool: ops.pool, agent: 'agent-a', target, now: first });
    expect(steps.map((s) => [s.kind, s.enqueued])).toEqual([
      ['sample', 7],
      ['sample', 0]
    ]);
    // A second agent in the same interval adds nothing.
    const again = await expandSchedules({ pool: ops.pool, agent: 'agent-b', target, now: first });
    expect(again.map((s) => s.enqueued)).toEqual([0]);
    await expandSchedules({ pool: ops.pool, agent: 'agent-b', target, now: next });
    const a = await jobsOfPeriod('2030-01-01T00:00:00.000Z');
    const b = await jobsOfPeriod('2030-01-01T00:01:00.000Z');
    const users = await sourceUsers();
    for (const drawn of [a, b]) {
      expect(new Set(drawn).size).toBe(7);
      for (const u of drawn) expect(users).toContain(u);
    }
    expect(a.sort()).not.toEqual(b.sort());
  });

  const refusals: [string, Partial<ProbeSchedule>, string, RegExp][] = [
    [
      'a syntax error',
      { usersQuery: 'SELEC user_id FROM workspace_memberships' },
      'SYNCSCOPE_E_USERS_QUERY_INVALID',
      /is not valid SQL.*write one SELECT returning `user_id`/
    ],
    [
      'no user_id column',
      { usersQuery: 'SELECT workspace_id FROM workspace_memberships' },
      'SYNCSCOPE_E_USERS_QUERY_INVALID',
      /returns no `user_id` column; name the users' id column `user_id`/
    ],
    [
      'a column the table lacks',
      { usersQuery: 'SELECT member_id AS user_id FROM workspace_memberships' },
      'SYNCSCOPE_E_USERS_QUERY_INVALID',
      /names a column its tables lack \(Postgres said: column "member_id" does not exist\)/
    ],
    [
      'a table outside the rules',
      { usersQuery: 'SELECT id AS user_id FROM users' },
      'SYNCSCOPE_E_TABLE_NOT_IN_RULES',
      /reads public.users, which neither the sync rules nor user_search read/
    ],
    [
      'a statement timeout',
      {
        usersQuery: 'SELECT user_id FROM workspace_memberships WHERE pg_sleep(2) IS NOT NULL',
        usersQueryTimeoutMs: 300
      },
      'SYNCSCOPE_E_USERS_QUERY_TIMEOUT',
      /took over 0.3 s \(statement timeout\).*raise schedule.users_query_timeout_seconds/
    ]
  ];
  it.each(refusals)('refuses %s with its code and the fix', async (_what, schedule, code, message) => {
    const target = await scheduled('sampled', schedule);
    const attempt = expandSchedules({
      pool: ops.pool,
      agent: 'agent-a',
      target,
      now: new Date('2031-01-01T00:00:00Z')
    });
    await expect(attempt).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it("a refused query is counted by code in the agent's metrics", async () => {
    const broken = targetsFile.replace(/targets\.yaml$/, 'broken.yaml');
    const { readFile } = await import('node:fs/promises');
    await writeFile(
      broken,
      (await readFile(targetsFile, 'utf8')).replaceAll(
        USERS_QUERY,
        'SELEC user_id FROM workspace_memberships'
      )
    );
    const metrics = createAgentMetrics({ targets: ['sampled'] });
    const scheduler = await startProbeScheduler({
      targets: targetsSource(broken, env),
      logger,
      scrubber,
      ops,
      metrics,
      agentName: 'agent-m',
      tickMs: 60_000
    });
    await scheduler.tick();
    await scheduler.stop();
    expect(await metrics.registry.metrics()).toMatch(
      /syncscope_schedule_expansion_failures_total\{target="sampled",code="SYNCSCOPE_E_USERS_QUERY_INVALID"\} [1-9]/
    );
  });
});
