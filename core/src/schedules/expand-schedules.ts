/**
 * Turns a target's schedule into probe jobs in the ops database, so any number of agents share one
 * schedule. Every agent calls `expandSchedules` on its tick; for each current period the agent that
 * locks the period's row (FOR UPDATE SKIP LOCKED; the others skip it) expands one step in one
 * transaction: the jobs of a page of users, with their de-duplication keys, and the period's keyset
 * cursor. A crash mid-step rolls both back; a repeated step inserts nothing (the keys are unique). So
 * each user gets at most one job per period, whichever agents expand it and however often.
 *
 * A sweep queues first the users whose last verdict (within two periods) was not consistent, then lists
 * the rest a page at a time, and only while fewer than `maxWaiting` of the target's scheduled jobs wait:
 * the queue holds a few pages, never a million users. When its last page is in, the count is the
 * target's population (`target_population`, the fleet view's denominator).
 */
import type pg from 'pg';
import { inTransaction } from '../ops-db/ops-database.ts';
import type { ProbeSchedule, ProbeTarget } from '../probe/probe-types.ts';
import { DEFAULT_MAX_ATTEMPTS, PROBE_JOBS_CHANNEL, SCHEDULED_BY } from '../probe-jobs/probe-jobs.ts';
import type { StreamSubscription } from '../sync-rules/stream-subscriptions.ts';
import { currentPeriods, dedupKey, type SchedulePeriod } from './schedule-periods.ts';
import {
  checkUsersQueryTables,
  listUsersPage,
  sampleUsers,
  USERS_QUERY_DEFAULT_TIMEOUT_MS,
  type UsersQuerySource,
  usersAmong
} from './users-query.ts';

/** Claim order (probe_jobs.priority): console jobs are 0, a person is waiting for them. */
export const PRIORITY = { unsettled: 1, scheduled: 2 } as const;

export const EXPAND_DEFAULTS = { pageSize: 500, maxWaiting: 1_000 };

export interface ExpandOptions {
  pool: pg.Pool;
  /** Names the agent in the jobs' `requested_by` (`schedule:<agent>`) and the audit log. */
  agent: string;
  target: ProbeTarget & { schedule: ProbeSchedule };
  now?: Date;
  pageSize?: number;
  maxWaiting?: number;
}

export interface ExpansionStep {
  kind: SchedulePeriod['kind'];
  periodStart: string;
  /** Jobs this step inserted (0 when its users already had theirs). */
  enqueued: number;
  /** held: another agent is expanding the period; backlog: enough of the target's jobs wait already. */
  outcome: 'expanded' | 'complete' | 'held' | 'backlog';
}

interface PeriodRow {
  cursor: string | null;
  unsettledQueued: boolean;
  listed: number;
  complete: boolean;
}

interface PlannedJob {
  userId: string;
  subscriptions: StreamSubscription[];
  /** Tells apart one canary listed twice with different subscriptions. */
  variant?: string;
}

/** What one step decided: the users to queue, and where the period stands after it. */
interface Plan {
  jobs: PlannedJob[];
  /** Queue these first (users whose last verdict was not consistent). */
  unsettled: boolean;
  next: Partial<PeriodRow>;
}

/** Expands every current period of the target's schedule as far as the backlog allows. */
export async function expandSchedules(options: ExpandOptions): Promise<ExpansionStep[]> {
  const { target } = options;
  const now = options.now ?? new Date();
  const source = usersSource(target);
  if (source) checkUsersQueryTables(target, source.usersQuery);
  const steps: ExpansionStep[] = [];
  for (const period of currentPeriods(target.schedule, now)) {
    await options.pool.query(
      `INSERT INTO syncscope.schedule_periods (target, schedule, period_start) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [target.name, period.kind, period.start]
    );
    for (;;) {
      const step = await expandStep(options, period, source);
      steps.push(step);
      if (step.outcome !== 'expanded') break;
    }
  }
  return steps;
}

function usersSource(target: ExpandOptions['target']): UsersQuerySource | undefined {
  const { usersQuery, usersQueryTimeoutMs } = target.schedule;
  return usersQuery
    ? {
        target: target.name,
        sourceUrl: target.sourceUrl,
        usersQuery,
        timeoutMs: usersQueryTimeoutMs ?? USERS_QUERY_DEFAULT_TIMEOUT_MS
      }
    : undefined;
}

function expandStep(
  options: ExpandOptions,
  period: SchedulePeriod,
  source: UsersQuerySource | undefined
): Promise<ExpansionStep> {
  const { target } = options;
  const at = { kind: period.kind, periodStart: period.start.toISOString(), enqueued: 0 };
  return inTransaction(options.pool, async (client) => {
    const { rows } = await client.query<PeriodRow>(
      `SELECT cursor, unsettled_queued AS "unsettledQueued", listed::int, complete
       FROM syncscope.schedule_periods WHERE target = $1 AND schedule = $2 AND period_start = $3
       FOR UPDATE SKIP LOCKED`,
      [target.name, period.kind, period.start]
    );
    const row = rows[0];
    if (!row) return { ...at, outcome: 'held' };
    if (row.complete) return { ...at, outcome: 'complete' };
    if (period.kind === 'sweep' && (await waitingJobs(client, target.name)) >= maxWaiting(options))
      return { ...at, outcome: 'backlog' };
    const plan = await planStep(client, options, period, row, source);
    const enqueued = await insertJobs(client, options, period, plan);
    const next = { ...row, ...plan.next };
    await client.query(
      `UPDATE syncscope.schedule_periods SET cursor = $4, unsettled_queued = $5, listed = $6, complete = $7,
         expanded_by = $8, updated_at = now()
       WHERE target = $1 AND schedule = $2 AND period_start = $3`,
      [
        target.name,
        period.kind,
        period.start,
        next.cursor,
        next.unsettledQueued,
        next.listed,
        next.complete,
        options.agent
      ]
    );
    if (period.kind === 'sweep' && next.complete) await recordPopulation(client, target.name, next.listed);
    return { ...at, enqueued, outcome: 'expanded' };
  });
}

const maxWaiting = (options: ExpandOptions) => options.maxWaiting ?? EXPAND_DEFAULTS.maxWaiting;

async function planStep(
  client: pg.PoolClient,
  options: ExpandOptions,
  period: SchedulePeriod,
  row: PeriodRow,
  source: UsersQuerySource | undefined
): Promise<Plan> {
  const schedule = options.target.schedule;
  const bare = (ids: string[]) => ids.map((userId) => ({ userId, subscriptions: [] }));
  if (period.kind === 'canaries') {
    const jobs = schedule.users.map((u, i) => ({ ...u, variant: String(i) }));
    return { jobs, unsettled: false, next: { complete: true, listed: jobs.length } };
  }
  if (!source) throw new Error(`target ${options.target.name}: a ${period.kind} needs users_query`);
  if (period.kind === 'sample') {
    const ids = await sampleUsers(source, schedule.sample ?? 0, period.start.toISOString());
    return { jobs: bare(ids), unsettled: false, next: { complete: true, listed: ids.length } };
  }
  if (!row.unsettledQueued) {
    const ids = await usersAmong(source, await unsettledUsers(client, options.target.name, period));
    return { jobs: bare(ids), unsettled: true, next: { unsettledQueued: true } };
  }
  const pageSize = options.pageSize ?? EXPAND_DEFAULTS.pageSize;
  const ids = await listUsersPage(source, row.cursor, pageSize);
  return {
    jobs: bare(ids),
    unsettled: false,
    next: {
      cursor: ids.at(-1) ?? row.cursor,
      listed: row.listed + ids.length,
      complete: ids.length < pageSize
    }
  };
}

/** The target's users whose latest read probe within two periods was not consistent (at most 10,000). */
async function unsettledUsers(
  client: pg.PoolClient,
  target: string,
  period: SchedulePeriod
): Promise<string[]> {
  const { rows } = await client.query<{ userId: string }>(
    `SELECT user_id AS "userId" FROM (
       SELECT DISTINCT ON (user_id) user_id, verdict FROM syncscope.probe_runs
       WHERE target = $1 AND kind = 'read' AND started_at > $2::timestamptz - make_interval(secs => $3)
       ORDER BY user_id, started_at DESC) latest
     WHERE verdict <> 'consistent' LIMIT 10000`,
    [target, period.start, 2 * period.seconds]
  );
  return rows.map((r) => r.userId);
}

async function waitingJobs(client: pg.PoolClient, target: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM syncscope.probe_jobs
     WHERE target = $1 AND status IN ('queued', 'retry_wait') AND dedup_key IS NOT NULL`,
    [target]
  );
  return rows[0]!.n;
}

function reasonOf(kind: SchedulePeriod['kind'], schedule: ProbeSchedule): string {
  if (kind === 'canaries') return `scheduled probe every ${schedule.everySeconds} s`;
  if (kind === 'sample')
    return `scheduled sample of ${schedule.sample} users every ${schedule.everySeconds} s`;
  return `scheduled sweep: every user once per ${schedule.sweepPeriodSeconds} s`;
}

/** Inserts the step's jobs (those whose key exists already are skipped) and wakes the agents. */
async function insertJobs(
  client: pg.PoolClient,
  options: ExpandOptions,
  period: SchedulePeriod,
  plan: Plan
): Promise<number> {
  if (plan.jobs.length === 0) return 0;
  const { target } = options;
  const settled = plan.unsettled
    ? new Map<string, string>()
    : await lastVerdicts(client, target.name, plan.jobs);
  const priorityOf = (userId: string) =>
    plan.unsettled || (settled.get(userId) ?? 'consistent') !== 'consistent'
      ? PRIORITY.unsettled
      : PRIORITY.scheduled;
  const { rowCount } = await client.query(
    `INSERT INTO syncscope.probe_jobs (target, user_id, subscriptions, reason, requested_by, max_attempts,
       dedup_key, priority, mode)
     SELECT $1, u.user_id, u.subscriptions::jsonb, $2, $3, $4, u.dedup_key, u.priority, $5
     FROM unnest($6::text[], $7::text[], $8::text[], $9::int[]) AS u(user_id, subscriptions, dedup_key, priority)
     ON CONFLICT (dedup_key) DO NOTHING`,
    [
      target.name,
      reasonOf(period.kind, target.schedule),
      `${SCHEDULED_BY}${options.agent}`,
      DEFAULT_MAX_ATTEMPTS,
      target.schedule.mode ?? 'full',
      plan.jobs.map((j) => j.userId),
      plan.jobs.map((j) => JSON.stringify(j.subscriptions)),
      plan.jobs.map((j) => dedupKey(target.name, period, j.userId, j.variant)),
      plan.jobs.map((j) => priorityOf(j.userId))
    ]
  );
  if (rowCount)
    await client.query('SELECT pg_notify($1, $2)', [
      PROBE_JOBS_CHANNEL,
      JSON.stringify({ jobId: '', status: 'queued', progress: {}, sentAt: Date.now() })
    ]);
  return rowCount ?? 0;
}

async function lastVerdicts(
  client: pg.PoolClient,
  target: string,
  jobs: PlannedJob[]
): Promise<Map<string, string>> {
  const { rows } = await client.query<{ userId: string; verdict: string }>(
    `SELECT DISTINCT ON (user_id) user_id AS "userId", verdict FROM syncscope.probe_runs
     WHERE target = $1 AND kind = 'read' AND user_id = ANY($2::text[]) ORDER BY user_id, started_at DESC`,
    [target, jobs.map((j) => j.userId)]
  );
  return new Map(rows.map((r) => [r.userId, r.verdict]));
}

/** The sweep's count of the target's users, for the fleet view. */
async function recordPopulation(client: pg.PoolClient, target: string, users: number): Promise<void> {
  await client.query(
    `INSERT INTO syncscope.target_population (target, users, counted_at) VALUES ($1, $2, now())
     ON CONFLICT (target) DO UPDATE SET users = EXCLUDED.users, counted_at = EXCLUDED.counted_at`,
    [target, users]
  );
}
