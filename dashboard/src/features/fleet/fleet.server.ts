import 'server-only';
import { opsPool } from '@/server/ops-pool';

/**
 * The fleet view's reads. Everything over time comes from the hourly rollups (migration 14), which
 * outlive the raw runs; only the last 24 h (verified users, worst users) read raw runs, through indexes
 * on (target, started_at). `scope`: the targets to include, null for all (Access.scope).
 */

export interface VerifiedShare {
  target: string;
  /** Distinct users with a read probe in the last 24 h. */
  verified: number;
  /** The target's users at the last sweep's count; null when never counted (the share is unknown). */
  population: number | null;
  countedAt: Date | null;
}

export interface HourVerdicts {
  hour: Date;
  consistent: number;
  mismatch: number;
  inconclusive: number;
  error: number;
}

export interface DifferenceSource {
  dimension: 'table' | 'rule';
  name: string;
  differences: number;
  runs: number;
}

export interface ProblemUser {
  target: string;
  userId: string;
  problems: number;
  runs: number;
  lastRunId: string;
  lastVerdict: string;
  lastReasonCode: string | null;
  lastAt: Date;
}

export interface CanaryFreshness {
  target: string;
  userId: string;
  agent: string;
  verdict: string;
  reasonCode: string | null;
  heldSince: Date;
  lastCheckpointAt: Date | null;
  lastFreshnessSeconds: number | null;
  updatedAt: Date;
}

/** The targets the view shows: the targets file's (as granted) and any with recent runs, counts or canaries. */
async function fleetTargets(listed: string[], scope: string[] | null): Promise<string[]> {
  const { rows } = await opsPool().query<{ target: string }>(
    `SELECT target FROM (
       SELECT unnest($1::text[]) AS target
       UNION SELECT DISTINCT target FROM syncscope.probe_run_hourly WHERE hour > now() - interval '7 days'
       UNION SELECT target FROM syncscope.target_population
       UNION SELECT DISTINCT target FROM syncscope.canary_status) t
     WHERE $2::text[] IS NULL OR target = ANY($2) ORDER BY target`,
    [listed, scope]
  );
  return rows.map((r) => r.target);
}

export async function verifiedShares(listed: string[], scope: string[] | null): Promise<VerifiedShare[]> {
  const targets = await fleetTargets(listed, scope);
  const { rows } = await opsPool().query<VerifiedShare>(
    `SELECT t.target, p.users::float8 AS population, p.counted_at AS "countedAt",
       (SELECT count(DISTINCT user_id) FROM syncscope.probe_runs r
        WHERE r.target = t.target AND r.kind = 'read' AND r.started_at > now() - interval '24 hours')::int AS verified
     FROM unnest($1::text[]) AS t(target) LEFT JOIN syncscope.target_population p ON p.target = t.target
     ORDER BY t.target`,
    [targets]
  );
  return rows;
}

/** Verdict counts per hour over the last `hours`, every hour present (zeros where nothing ran). */
export async function verdictsPerHour(scope: string[] | null, hours: number): Promise<HourVerdicts[]> {
  const { rows } = await opsPool().query<HourVerdicts>(
    `SELECT h.hour, coalesce(sum(r.consistent), 0)::int AS consistent, coalesce(sum(r.mismatch), 0)::int AS mismatch,
       coalesce(sum(r.inconclusive), 0)::int AS inconclusive, coalesce(sum(r.error), 0)::int AS error
     FROM generate_series(date_trunc('hour', now(), 'UTC') - make_interval(hours => $1 - 1),
                          date_trunc('hour', now(), 'UTC'), interval '1 hour') AS h(hour)
     LEFT JOIN syncscope.probe_run_hourly r
       ON r.hour = h.hour AND r.kind = 'read' AND ($2::text[] IS NULL OR r.target = ANY($2))
     GROUP BY h.hour ORDER BY h.hour`,
    [hours, scope]
  );
  return rows;
}

/** The tables and the rules with most persisted differences over the last `days`, `limit` of each. */
export async function differenceSources(
  scope: string[] | null,
  days: number,
  limit: number
): Promise<DifferenceSource[]> {
  const { rows } = await opsPool().query<DifferenceSource>(
    `SELECT dimension, name, differences::float8 AS differences, runs::int AS runs FROM (
       SELECT dimension, name, sum(differences) AS differences, sum(runs) AS runs,
         row_number() OVER (PARTITION BY dimension ORDER BY sum(differences) DESC, name) AS place
       FROM syncscope.probe_run_hourly_differences
       WHERE hour > now() - make_interval(days => $1) AND ($2::text[] IS NULL OR target = ANY($2))
       GROUP BY dimension, name) ranked
     WHERE place <= $3 ORDER BY dimension, place`,
    [days, scope, limit]
  );
  return rows;
}

/** Users with most runs that were not consistent in the last 24 h, with their latest such run. */
export async function problemUsers(scope: string[] | null, limit: number): Promise<ProblemUser[]> {
  const { rows } = await opsPool().query<ProblemUser>(
    `SELECT p.*, (SELECT count(*) FROM syncscope.probe_runs a
                  WHERE a.target = p.target AND a.user_id = p."userId"
                    AND a.started_at > now() - interval '24 hours')::int AS runs
     FROM (
       SELECT target, user_id AS "userId", count(*)::int AS problems,
         (array_agg(id ORDER BY started_at DESC))[1] AS "lastRunId",
         (array_agg(verdict ORDER BY started_at DESC))[1] AS "lastVerdict",
         (array_agg(reason_code ORDER BY started_at DESC))[1] AS "lastReasonCode",
         max(started_at) AS "lastAt"
       FROM syncscope.probe_runs
       WHERE verdict <> 'consistent' AND started_at > now() - interval '24 hours'
         AND ($1::text[] IS NULL OR target = ANY($1))
       GROUP BY target, user_id ORDER BY problems DESC, "lastAt" DESC LIMIT $2) p
     ORDER BY p.problems DESC, p."lastAt" DESC`,
    [scope, limit]
  );
  return rows;
}

/** Held canaries, the one whose stream delivered longest ago first. */
export async function canaryFreshness(scope: string[] | null, limit: number): Promise<CanaryFreshness[]> {
  const { rows } = await opsPool().query<CanaryFreshness>(
    `SELECT target, user_id AS "userId", agent, verdict, reason_code AS "reasonCode", held_since AS "heldSince",
       last_checkpoint_at AS "lastCheckpointAt", last_freshness_seconds AS "lastFreshnessSeconds",
       updated_at AS "updatedAt"
     FROM syncscope.canary_status WHERE $1::text[] IS NULL OR target = ANY($1)
     ORDER BY last_checkpoint_at ASC NULLS FIRST, target, user_id LIMIT $2`,
    [scope, limit]
  );
  return rows;
}
