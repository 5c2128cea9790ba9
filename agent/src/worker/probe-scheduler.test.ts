import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { DEMO_USERS } from '@syncscope/demo/seed/seed-plan';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentMetrics, createAgentMetrics } from '../metrics/agent-metrics.ts';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import {
  PROBE_AUDIENCE,
  PROBE_KID,
  type ProbeHarness,
  RULES_FILE,
  startProbeHarness
} from '../probe-integration/probe-harness.ts';
import { startProbeJobRunner } from './probe-job-runner.ts';
import { startProbeScheduler } from './probe-scheduler.ts';

let h: ProbeHarness;
let ops: OpsDatabase;
let opsUrl: string;
let dir: string;
let env: NodeJS.ProcessEnv;

/** A targets file with the harness as target `name` and this schedule (YAML lines under `schedule:`). */
async function targetsFileWith(name: string, schedule: string[]): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'targets:',
      `  ${name}:`,
      `    sync_url: ${h.target.syncUrl}`,
      '    source_url: !env SCHEDULED_SOURCE_URL',
      `    sync_rules: { path: ${RULES_FILE} }`,
      `    signing_key: { kid: ${PROBE_KID}, hs256_secret: !env SCHEDULED_SECRET, encoding: base64url }`,
      `    audience: ${PROBE_AUDIENCE}`,
      '    schedule:',
      ...schedule.map((line) => `      ${line}`),
      ''
    ].join('\n')
  );
  return file;
}

beforeAll(async () => {
  h = await startProbeHarness('scheduled');
  opsUrl = await createTestDatabase('scheduled_ops');
  await migrateOpsDatabase(opsUrl);
  ops = new OpsDatabase(opsUrl);
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-schedule-'));
  env = {
    SCHEDULED_SOURCE_URL: h.target.sourceUrl,
    SCHEDULED_SECRET: Buffer.from(h.secret).toString('base64url')
  };
}, 120_000);

afterAll(async () => {
  await ops?.close();
  await h?.close();
});

const runsOf = async (userId: string, target = 'scheduled') =>
  (
    await ops.pool.query<{ verdict: string; requested_by: string }>(
      'SELECT verdict, requested_by FROM syncscope.probe_runs WHERE user_id = $1 AND target = $2 ORDER BY started_at',
      [userId, target]
    )
  ).rows;

/** An agent's scheduler and job runner (the engine's real probes), as `syncscope agent` runs them. */
async function startAgent(file: string, metrics?: AgentMetrics) {
  const targets = targetsSource(file, env);
  const logger = createLogger('schedule-test', 'silent');
  const scrubber = new SecretScrubber();
  const common = { targets, logger, scrubber, metrics, ops, agentName: 'agent-7' };
  const runner = await startProbeJobRunner({ ...common, opsDatabaseUrl: opsUrl, pollMs: 500 });
  const scheduler = await startProbeScheduler({ ...common, tickMs: 1_000 });
  return {
    scheduler,
    async stop() {
      await scheduler.stop();
      await runner.stop();
    }
  };
}

describe('scheduled probes', () => {
  it("probes each target's scheduled users every interval, stores the runs, counts them, and stops", async () => {
    const metrics = createAgentMetrics({ targets: ['scheduled'] });
    const file = await targetsFileWith('scheduled', [
      `users: [${DEMO_USERS.alice.id}, ${DEMO_USERS.bob.id}]`,
      'every_seconds: 5'
    ]);
    const agent = await startAgent(file, metrics);
    expect(agent.scheduler.scheduled).toBe(1);
    // The schedule is exported, so an alert can tell a silent agent from one without a schedule.
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain('syncscope_probe_schedule_interval_seconds{target="scheduled"} 5');
    const started = Number(
      /syncscope_probe_schedule_started_timestamp_seconds\{target="scheduled"\} (\S+)/.exec(exposition)?.[1]
    );
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(30);
    const until = Date.now() + 40_000;
    while ((await runsOf(DEMO_USERS.alice.id)).length < 2 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 250));
    await agent.stop();
    const alice = await runsOf(DEMO_USERS.alice.id);
    expect(alice.length).toBeGreaterThanOrEqual(2);
    expect(alice.every((r) => r.verdict === 'consistent' && r.requested_by === 'schedule:agent-7')).toBe(
      true
    );
    // Every scheduled token was audited first, as this agent's schedule and with its interval.
    const minted = await ops.pool.query(
      "SELECT DISTINCT actor, reason FROM syncscope.audit_log WHERE action = 'probe.token_minted' AND subject_user = $1",
      [DEMO_USERS.alice.id]
    );
    expect(minted.rows).toEqual([
      { actor: 'schedule:agent-7', reason: expect.stringMatching(/^scheduled probe every \d+ s$/) }
    ]);
    expect((await runsOf(DEMO_USERS.bob.id)).length).toBeGreaterThanOrEqual(1);
    // Counted as full probes (the schedule's default mode); the light series stays at zero.
    const counted = async (mode: string) =>
      (await metrics.runs.get()).values.find(
        (v) => v.labels.target === 'scheduled' && v.labels.verdict === 'consistent' && v.labels.mode === mode
      )?.value;
    expect(await counted('full')).toBeGreaterThanOrEqual(3);
    expect(await counted('light')).toBe(0);
    // Stopped: no further runs.
    const after = (await runsOf(DEMO_USERS.alice.id)).length;
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await runsOf(DEMO_USERS.alice.id)).length).toBe(after);
  }, 90_000);

  it('sweeps every user of the users_query once in the period with real probes, and counts them', async () => {
    const file = await targetsFileWith('swept', [
      'sweep: { period_seconds: 3600 }',
      'users_query: SELECT user_id FROM workspace_memberships'
    ]);
    const { rows: users } = await h.pool.query<{ userId: string }>(
      'SELECT DISTINCT user_id AS "userId" FROM workspace_memberships ORDER BY 1'
    );
    const agent = await startAgent(file);
    const swept = async () =>
      (
        await ops.pool.query<{ userId: string; verdict: string; n: number }>(
          `SELECT user_id AS "userId", min(verdict) AS verdict, count(*)::int AS n FROM syncscope.probe_runs
           WHERE target = 'swept' GROUP BY user_id ORDER BY 1`
        )
      ).rows;
    const until = Date.now() + 150_000;
    while ((await swept()).length < users.length && Date.now() < until)
      await new Promise((r) => setTimeout(r, 500));
    await agent.scheduler.tick();
    await agent.stop();
    expect(await swept()).toEqual(users.map(({ userId }) => ({ userId, verdict: 'consistent', n: 1 })));
    const population = await ops.pool.query(
      `SELECT users::int FROM syncscope.target_population WHERE target = 'swept'`
    );
    expect(population.rows).toEqual([{ users: users.length }]);
  }, 200_000);

  it('without an ops database nothing is scheduled: no unaudited probes', async () => {
    const scheduler = await startProbeScheduler({
      targets: targetsSource(await targetsFileWith('unaudited', ['users: [u-1]', 'every_seconds: 5']), env),
      logger: createLogger('schedule-test', 'silent'),
      scrubber: new SecretScrubber()
    });
    expect(scheduler.scheduled).toBe(0);
    await scheduler.stop();
  });
});
