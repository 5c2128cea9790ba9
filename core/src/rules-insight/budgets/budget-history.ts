/**
 * Bucket-budget readings in the ops database (syncscope.bucket_budget_runs): each keeps its report and
 * its largest users' counts, so a reading's listed users get their growth since the previous reading
 * and a forecast, a straight line through their stored counts of the last 30 days.
 */
import type pg from 'pg';
import type { BudgetReport } from './compute-budgets.ts';

type Queryable = Pick<pg.Pool, 'query'>;

/** How far back forecasts look, and how long readings are kept. */
export const BUDGET_HISTORY_DAYS = 30;

export type Forecast =
  | { kind: 'over-limit' }
  | { kind: 'no-history' }
  | { kind: 'not-growing'; perDay: number }
  | { kind: 'crosses'; perDay: number; inSeconds: number };

export interface BudgetTrend {
  user: string;
  /** The user's count in the previous reading; absent: not among its largest users (or no reading). */
  previous?: number;
  growth?: number;
  forecast: Forecast;
}

export interface BudgetReading {
  target: string;
  computedAt: string;
  report: BudgetReport;
  /** One per listed user, in the report's order. */
  trends: BudgetTrend[];
}

/** Growth since the previous stored reading of the target and a forecast, for each listed user. */
export async function budgetTrends(
  db: Queryable,
  target: string,
  report: BudgetReport,
  at: Date
): Promise<BudgetTrend[]> {
  if (report.listed.length === 0) return [];
  const users = report.listed.map((u) => u.user);
  const previous = await db.query<{ user: string; buckets: number }>(
    `SELECT u."user", u.buckets FROM (
       SELECT top_users FROM syncscope.bucket_budget_runs WHERE target = $1 AND computed_at < $2
       ORDER BY computed_at DESC LIMIT 1) r
     CROSS JOIN LATERAL jsonb_to_recordset(r.top_users) AS u("user" text, buckets int)
     WHERE u."user" = ANY($3)`,
    [target, at, users]
  );
  // The line through the stored counts and this reading's (seconds since the epoch → buckets).
  const lines = await db.query<{ user: string; per_second: number | null; points: string }>(
    `SELECT h."user", regr_slope(h.buckets, extract(epoch FROM h.at)) AS per_second, count(*) AS points
     FROM (
       SELECT r.computed_at AS at, u."user", u.buckets FROM syncscope.bucket_budget_runs r
       CROSS JOIN LATERAL jsonb_to_recordset(r.top_users) AS u("user" text, buckets int)
       WHERE r.target = $1 AND r.computed_at < $2 AND r.computed_at >= $2 - make_interval(days => $5)
         AND u."user" = ANY($3)
       UNION ALL SELECT $2, c."user", c.buckets FROM unnest($3::text[], $4::int[]) AS c("user", buckets)
     ) h GROUP BY h."user"`,
    [target, at, users, report.listed.map((u) => u.buckets), BUDGET_HISTORY_DAYS]
  );
  const before = new Map(previous.rows.map((r) => [r.user, r.buckets]));
  const line = new Map(lines.rows.map((r) => [r.user, r]));
  return report.listed.map((u) => {
    const was = before.get(u.user);
    const l = line.get(u.user);
    return {
      user: u.user,
      ...(was === undefined ? {} : { previous: was, growth: u.buckets - was }),
      forecast: forecastOf(u.buckets, report.limit, Number(l?.points ?? 1), l?.per_second ?? null)
    };
  });
}

function forecastOf(buckets: number, limit: number, points: number, perSecond: number | null): Forecast {
  if (buckets > limit) return { kind: 'over-limit' };
  if (points < 2 || perSecond === null) return { kind: 'no-history' };
  const perDay = perSecond * 86_400;
  // Less than a bucket a month is noise, not growth.
  if (perDay * BUDGET_HISTORY_DAYS < 1) return { kind: 'not-growing', perDay };
  return { kind: 'crosses', perDay, inSeconds: Math.max(0, (limit - buckets) / perSecond) };
}

const n = (value: number) => value.toLocaleString('en-US');

function duration(seconds: number): string {
  if (seconds < 3600) return `~${Math.max(1, Math.round(seconds / 60))} min`;
  if (seconds < 2 * 86_400) return `~${Math.round(seconds / 3600)} hours`;
  return `~${Math.round(seconds / 86_400)} days`;
}

/** "crosses 1,000 in ~12 days", "not growing", … */
export function describeForecast(forecast: Forecast, limit: number): string {
  switch (forecast.kind) {
    case 'over-limit':
      return `over ${n(limit)} now: the service refuses its connections`;
    case 'no-history':
      return 'no earlier reading yet';
    case 'not-growing':
      return 'not growing';
    case 'crosses':
      return `crosses ${n(limit)} in ${duration(forecast.inSeconds)}`;
  }
}

/** Stores a reading and prunes the target's readings past BUDGET_HISTORY_DAYS. */
export async function storeBudgetReading(
  db: Queryable,
  reading: BudgetReading,
  agent: string
): Promise<void> {
  const { report } = reading;
  await db.query(
    `INSERT INTO syncscope.bucket_budget_runs
       (target, computed_at, agent, bucket_limit, users, max_buckets, over_thresholds, top_users, report)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      reading.target,
      reading.computedAt,
      agent,
      report.limit,
      report.users,
      report.buckets.max,
      JSON.stringify(report.over),
      JSON.stringify(report.top),
      JSON.stringify({ report, trends: reading.trends })
    ]
  );
  await db.query(
    `DELETE FROM syncscope.bucket_budget_runs
     WHERE target = $1 AND computed_at < $2::timestamptz - make_interval(days => $3)`,
    [reading.target, reading.computedAt, BUDGET_HISTORY_DAYS]
  );
}

/** The target's latest stored reading, if any. */
export async function latestBudgetReading(db: Queryable, target: string): Promise<BudgetReading | undefined> {
  const { rows } = await db.query<{
    computed_at: Date;
    report: Omit<BudgetReading, 'target' | 'computedAt'>;
  }>(
    `SELECT computed_at, report FROM syncscope.bucket_budget_runs WHERE target = $1
     ORDER BY computed_at DESC LIMIT 1`,
    [target]
  );
  const r = rows[0];
  return r && { target, computedAt: r.computed_at.toISOString(), ...r.report };
}
