/**
 * A sweep of every demo user shared by 1, 2 and 3 agents: users verified per second, duplicates (goal 0:
 * each user once per period whatever the number of agents) and ops-database bytes per stored run
 * (pg_total_relation_size of probe_runs, probe_jobs, schedule_periods and audit_log, after − before, /
 * runs). Each agent is a scheduler and a job runner in this process, as `syncscope agent` runs them,
 * over one embedded Postgres (source, dev sync server storage, ops database) and a dev sync server.
 *
 * `--mode light` (default) runs the engine's light probe per user, as a fleet sweep does: a token minted
 * and audited, the sync stream read at the protocol level from the dev server, the write-checkpoint echo,
 * the expected state from the source, the diff, the run stored. `--mode full` runs the real client
 * (seconds of CPU each here: pass a small `--users`). `--mode stand-in` runs the stand-in probe of the
 * queue tests (agent/src/worker/testing/light-probe.ts, three 10 ms waits, no sync): the queue's and the
 * schedule's cost alone. Besides the figures it prints where a job's time goes (its phases, the store,
 * the gap between a slot's jobs). The ratio is against the first agent count in the same run; figures are
 * the median of `--runs`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SecretScrubber } from '@syncscope/agent/output/secret-scrubber';
import { startProbeJobRunner } from '@syncscope/agent/worker/probe-job-runner';
import { startProbeScheduler } from '@syncscope/agent/worker/probe-scheduler';
import { lightProbe } from '@syncscope/agent/worker/testing/light-probe';
import { createLogger, findFreePort } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { applyDemoSchema } from '@syncscope/demo/schema/index';
import { seedDemoData } from '@syncscope/demo/seed/index';
import { workspaceId } from '@syncscope/demo/seed/seed-plan';
import { startDevSyncServer } from '@syncscope/powersync/dev-sync-server';
import { hs256DevConfig, TEST_AUDIENCE, TEST_KID } from '@syncscope/powersync/testing/hs256-dev-config';
import pg from 'pg';
import pino from 'pino';
import { startBenchPostgres } from './lib/bench-postgres.ts';
import { fmt, median } from './lib/stats.ts';

const RULES_FILE = fileURLToPath(new URL('../powersync/sync_rules.yaml', import.meta.url));
const USERS_QUERY = 'SELECT user_id FROM workspace_memberships';
const OPS_TABLES = ['probe_runs', 'probe_jobs', 'schedule_periods', 'audit_log'];

interface Figures {
  usersPerSecond: number;
  duplicates: number;
  bytesPerRun: number;
  seconds: number;
  breakdown: string;
}

async function main() {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      agents: { type: 'string', default: '1,2,3' },
      mode: { type: 'string', default: 'light' },
      runs: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '2' }
    }
  });
  const users = Number(values.users);
  const agentCounts = values.agents.split(',').map(Number);
  const mode = values.mode;
  if (!['stand-in', 'light', 'full'].includes(mode)) throw new Error('--mode is stand-in, light or full');
  const runs = Number(values.runs);
  const concurrency = Number(values.concurrency);
  const pgs = await startBenchPostgres();
  const logger = pino({ level: 'silent' });
  try {
    const sourceUrl = await pgs.createDatabase('sweep_source');
    const seeded = await seedSource(sourceUrl, users);
    const secret = randomBytes(32);
    const server = await startDevSyncServer({
      loaded: hs256DevConfig({
        sourceUrl,
        storageUrl: await pgs.createDatabase('sweep_storage'),
        port: await findFreePort(),
        secret,
        rulesYaml: await readFile(RULES_FILE, 'utf8')
      }),
      logger
    });
    const targets = await writeTargets(server.url, sourceUrl, secret, mode);
    console.log(
      `sweep of ${fmt(seeded, 0)} users, mode ${mode}, ${concurrency} probes per agent, median of ${runs} run(s); 2-core machine shared with other work: absolute figures are noisy, compare the ratios`
    );
    const results = new Map<number, Figures[]>();
    for (let run = 0; run < runs; run++)
      for (const agents of agentCounts) {
        const opsUrl = await pgs.createDatabase(`sweep_ops_${agents}_${run}`);
        const figures = await sweepOnce({
          opsUrl,
          targets,
          agents,
          concurrency,
          users: seeded,
          standIn: mode === 'stand-in'
        });
        results.set(agents, [...(results.get(agents) ?? []), figures]);
        console.log(
          `  run ${run + 1}, ${agents} agent(s): ${fmt(figures.seconds)} s, ${fmt(figures.usersPerSecond)} users/s; ${figures.breakdown}`
        );
      }
    await server.close();
    const baseline = median((results.get(agentCounts[0]!) ?? []).map((f) => f.usersPerSecond));
    for (const agents of agentCounts) {
      const f = results.get(agents)!;
      const rate = median(f.map((x) => x.usersPerSecond));
      console.log(
        `agents=${agents}: ${fmt(rate)} users verified/s (${fmt(rate / baseline, 2)}× ${agentCounts[0]} agent), duplicates ${Math.max(...f.map((x) => x.duplicates))} (goal 0), ops database ${fmt(median(f.map((x) => x.bytesPerRun)), 0)} bytes per stored run`
      );
    }
  } finally {
    await pgs.stop();
  }
}

/** The demo data plus `users - demo users` more, each a member of workspace 1 (so a real probe syncs its records). */
async function seedSource(url: string, users: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url });
  await applyDemoSchema(pool);
  await seedDemoData(pool, { records: 200 });
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(DISTINCT user_id)::int AS n FROM workspace_memberships'
  );
  const extra = Math.max(0, users - rows[0]!.n);
  await pool.query(
    `INSERT INTO users (id, email, name)
     SELECT 'bench-user-' || i, 'bench' || i || '@example.com', 'Bench ' || i FROM generate_series(1, $1::int) i`,
    [extra]
  );
  await pool.query(
    `INSERT INTO workspace_memberships (id, user_id, workspace_id, role)
     SELECT 'bench-membership-' || i, 'bench-user-' || i, $2, 'member' FROM generate_series(1, $1::int) i`,
    [extra, workspaceId(1)]
  );
  const total = await pool.query<{ n: number }>(
    'SELECT count(DISTINCT user_id)::int AS n FROM workspace_memberships'
  );
  await pool.end();
  return total.rows[0]!.n;
}

async function writeTargets(syncUrl: string, sourceUrl: string, secret: Uint8Array, mode: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-sweep-bench-'));
  const file = path.join(dir, 'targets.yaml');
  await writeFile(
    file,
    [
      'targets:',
      '  bench:',
      `    sync_url: ${syncUrl}`,
      '    source_url: !env BENCH_SOURCE_URL',
      `    sync_rules: { path: ${RULES_FILE} }`,
      `    signing_key: { kid: ${TEST_KID}, hs256_secret: !env BENCH_SECRET }`,
      `    audience: ${TEST_AUDIENCE}`,
      '    schedule:',
      '      sweep: { period_seconds: 86400 }',
      `      users_query: ${USERS_QUERY}`,
      ...(mode === 'stand-in' ? [] : [`      mode: ${mode}`]),
      ''
    ].join('\n')
  );
  return targetsSource(file, {
    ...process.env,
    BENCH_SOURCE_URL: sourceUrl,
    BENCH_SECRET: Buffer.from(secret).toString('base64url')
  });
}

async function opsBytes(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ bytes: string }>(
    `SELECT sum(pg_total_relation_size(('syncscope.' || t)::regclass))::text AS bytes FROM unnest($1::text[]) t`,
    [OPS_TABLES]
  );
  return Number(rows[0]!.bytes);
}

/**
 * The final runs' verdicts, a job's median time from claim to stored (finished_at − started_at) against
 * its probe's median duration and phases, and how busy the agents' slots were (job time / slot time).
 */
async function whereTimeGoes(pool: pg.Pool, slotSeconds: number): Promise<string> {
  const { rows: verdicts } = await pool.query<{ verdict: string; n: number }>(
    `SELECT verdict, count(*)::int AS n FROM syncscope.probe_runs WHERE final GROUP BY 1 ORDER BY 2 DESC`
  );
  const { rows: jobs } = await pool.query<{ job: number; busy: number; probe: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - j.started_at) * 1000) AS job,
            sum(extract(epoch FROM j.finished_at - j.started_at))::float8 AS busy,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_ms) AS probe
     FROM syncscope.probe_jobs j JOIN syncscope.probe_runs r ON r.id = j.run_id WHERE j.status = 'done'`
  );
  const { rows: phases } = await pool.query<{ phase: string; ms: number }>(
    `SELECT p.key AS phase, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.value::float8) AS ms
     FROM syncscope.probe_runs r, jsonb_each_text(r.report->'phases') p WHERE r.final GROUP BY 1 ORDER BY 2 DESC`
  );
  const j = jobs[0]!;
  return [
    `verdicts ${verdicts.map((v) => `${v.verdict} ${v.n}`).join(', ')}`,
    `median job (claim → stored) ${fmt(j.job, 0)} ms, its probe ${fmt(j.probe, 0)} ms (${phases.map((p) => `${p.phase} ${fmt(p.ms, 0)}`).join(', ') || 'no phases'})`,
    `slots busy ${fmt((100 * j.busy) / slotSeconds, 0)} %`
  ].join('; ');
}

async function sweepOnce(input: {
  opsUrl: string;
  targets: ReturnType<typeof targetsSource>;
  agents: number;
  concurrency: number;
  users: number;
  standIn: boolean;
}): Promise<Figures> {
  await migrateOpsDatabase(input.opsUrl);
  const ops = new OpsDatabase(input.opsUrl);
  const before = await opsBytes(ops.pool);
  const logger = createLogger('sweep-bench', 'warn');
  const scrubber = new SecretScrubber();
  const started = Date.now();
  const agents = [];
  for (let i = 0; i < input.agents; i++) {
    const common = { targets: input.targets, logger, scrubber, ops, agentName: `bench-agent-${i}` };
    const runner = await startProbeJobRunner({
      ...common,
      opsDatabaseUrl: input.opsUrl,
      concurrency: input.concurrency,
      pollMs: 500,
      ...(input.standIn ? { readProbe: (request) => lightProbe(request, () => 10) } : {})
    });
    const scheduler = await startProbeScheduler({ ...common, tickMs: 500 });
    agents.push({ runner, scheduler });
  }
  const counts = async () =>
    (
      await ops.pool.query<{ runs: number; users: number }>(
        // A job's final run is its verdict (an inconclusive attempt that is retried stores a run too).
        `SELECT count(*)::int AS runs, count(DISTINCT user_id)::int AS users FROM syncscope.probe_runs WHERE final`
      )
    ).rows[0]!;
  // Polled cheaply (the final runs' count is an index-only scan of probe_runs_job_final); the distinct
  // users only once there are enough final runs.
  const finalRuns = async () =>
    (await ops.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM syncscope.probe_runs WHERE final'))
      .rows[0]!.n;
  while ((await finalRuns()) < input.users || (await counts()).users < input.users)
    await new Promise((r) => setTimeout(r, 250));
  const seconds = (Date.now() - started) / 1000;
  for (const agent of agents) {
    await agent.scheduler.stop();
    await agent.runner.stop();
  }
  const { runs, users } = await counts();
  const stored = await ops.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM syncscope.probe_runs');
  const bytes = (await opsBytes(ops.pool)) - before;
  const breakdown = await whereTimeGoes(ops.pool, seconds * input.agents * input.concurrency);
  await ops.close();
  return {
    usersPerSecond: users / seconds,
    duplicates: runs - users,
    bytesPerRun: bytes / stored.rows[0]!.n,
    seconds,
    breakdown
  };
}

await main();
process.exit(0);
