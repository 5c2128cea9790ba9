/**
 * Bucket budgets: every user's bucket count (and parameter-query rows) from the parameter tables, in one
 * statement over the caller's snapshot: one GROUP BY over the union of the user-id lookups, then the
 * distribution, the users over each threshold and the largest users with the rule that gives each the
 * most. Only aggregates and a LIMITed list leave Postgres.
 */
import type pg from 'pg';
import { columnSql } from '../coverage/filter-sql.ts';
import type { SourceAnalysis } from '../coverage/source-analysis.ts';
import { type BudgetPart, budgetSources, DEFAULT_BUCKET_LIMIT, perUserSql } from './budget-sources.ts';

type Queryable = Pick<pg.Client, 'query'>;

/** Users listed over the lowest threshold, and users whose counts each stored run keeps for trends. */
export const BUDGET_LIST_SIZE = 20;
export const BUDGET_HISTORY_SIZE = 50;

export interface BudgetOptions {
  /** The service's max_buckets_per_connection (rules_insight.bucket_limit). */
  limit?: number;
  /** Thresholds below the limit (rules_insight.bucket_thresholds); default 80 % and 90 % of it. */
  thresholds?: number[];
  listSize?: number;
  historySize?: number;
}

export interface Spread {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface BudgetUser {
  user: string;
  buckets: number;
  /** Rows the parameter queries return for the user (the service's max_parameter_query_results). */
  results: number;
  /** The rule lines that give the user buckets, most first. */
  parts: BudgetPart[];
}

export interface BudgetReport {
  snapshotTakenAt: string;
  limit: number;
  /** Ascending; the last is the limit. */
  thresholds: number[];
  /** Users counted: the users table's (user_search), else every user id a user-id lookup gives. */
  users: number;
  usersFrom: 'users table' | 'parameter rows';
  /** What every user gets whoever they are (global definitions, claims, tables without a lookup). */
  fixed: BudgetPart[];
  buckets: Spread;
  results: Spread;
  /** Users per bucket-count range: 0, ten ranges up to the limit, over the limit (`to` null). */
  histogram: { from: number; to: number | null; users: number }[];
  over: { threshold: number; users: number }[];
  /** Over the lowest threshold, largest first (up to BUDGET_LIST_SIZE). */
  listed: BudgetUser[];
  /** The largest users' counts (up to BUDGET_HISTORY_SIZE), kept by each stored run for trends. */
  top: { user: string; buckets: number }[];
}

/** Thresholds below the limit, ascending, then the limit. */
export function budgetThresholds(limit: number, thresholds?: number[]): number[] {
  const below = thresholds ?? [Math.round(limit * 0.8), Math.round(limit * 0.9)];
  return [...new Set([...below.filter((t) => t < limit), limit])].sort((x, y) => x - y);
}

const int = (v: unknown) => Number(v ?? 0);

interface Row {
  summary: string;
  histogram: string | null;
  top: string | null;
}

function statement(
  a: SourceAnalysis,
  perUser: string,
  count: number,
  fixed: BudgetPart[],
  o: Required<BudgetOptions>
) {
  const fixedBuckets = fixed.reduce((s, p) => s + p.buckets, 0);
  const fixedResults = fixed.reduce((s, p) => s + p.results, 0);
  const sum = (c: string) => [...Array.from({ length: count }, (_, i) => `${c}${i}`), '0'].join(' + ');
  const zeros = Array.from({ length: count }, () => '0, 0').join(', ');
  const users = a.held.users;
  const id = users && columnSql(users.table, 'u', users.idColumn).sql;
  const noRows = users
    ? ` UNION ALL SELECT (${id})::text${count ? `, ${zeros}` : ''} FROM ${users.table.sqlName} u
        WHERE NOT EXISTS (SELECT 1 FROM per_user p WHERE p.k = (${id})::text)`
    : '';
  const width = Math.ceil(o.limit / 10);
  const overs = o.thresholds.map((t) => `count(*) FILTER (WHERE b > ${t})`).join(', ');
  const spread = (c: string) =>
    `'${c}', percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ${c}), '${c}_max', max(${c})`;
  const perSource = Array.from({ length: count }, (_, i) => `n${i}, r${i}`).join(', ');
  return `WITH per_user AS MATERIALIZED (${perUser}),
    all_users AS MATERIALIZED (
      SELECT k, ${sum('n')} + ${fixedBuckets} AS b, ${sum('r')} + ${fixedResults} AS r${count ? `, ${perSource}` : ''}
      FROM (SELECT * FROM per_user${noRows}) x)
    SELECT
      (SELECT json_build_object('users', count(*), ${spread('b')}, ${spread('r')}, 'over', json_build_array(${overs}))
       FROM all_users)::text AS summary,
      (SELECT json_agg(json_build_array(bin, users)) FROM (
         SELECT CASE WHEN b > ${o.limit} THEN 11 ELSE ceil(b::numeric / ${width})::int END AS bin, count(*) AS users
         FROM all_users GROUP BY 1) h)::text AS histogram,
      (SELECT json_agg(t) FROM (
         SELECT * FROM all_users ORDER BY b DESC, k LIMIT ${Math.max(o.listSize, o.historySize)}) t)::text AS top`;
}

function histogramOf(rows: [number, number][], limit: number) {
  const width = Math.ceil(limit / 10);
  const users = new Map(rows);
  const bins = [
    ...(users.get(0) ? [{ from: 0, to: 0, users: users.get(0)! }] : []),
    ...Array.from({ length: 10 }, (_, i) => ({
      from: i * width + 1,
      to: Math.min((i + 1) * width, limit),
      users: users.get(i + 1) ?? 0
    })),
    { from: limit + 1, to: null, users: users.get(11) ?? 0 }
  ];
  return bins.filter((b) => b.to === null || b.from <= b.to);
}

/** Every user's budget from the parameter tables, in the caller's snapshot. */
export async function computeBudgets(
  client: Queryable,
  a: SourceAnalysis,
  options: BudgetOptions & { snapshotTakenAt: string }
): Promise<BudgetReport> {
  const limit = options.limit ?? DEFAULT_BUCKET_LIMIT;
  const o: Required<BudgetOptions> = {
    limit,
    thresholds: budgetThresholds(limit, options.thresholds),
    listSize: options.listSize ?? BUDGET_LIST_SIZE,
    historySize: options.historySize ?? BUDGET_HISTORY_SIZE
  };
  const { fixed, perUser } = await budgetSources(client, a);
  // Without a user-id lookup the per-user part is empty; the users table still lists every user.
  const perUserQuery = perUser.length ? perUserSql(a, perUser) : 'SELECT NULL::text AS k WHERE FALSE';
  const { rows } = await client.query<Row>(statement(a, perUserQuery, perUser.length, fixed, o));
  const summary = JSON.parse(rows[0]!.summary);
  const spread = (c: string): Spread => {
    const [p50, p90, p99] = (summary[c] as number[] | null) ?? [0, 0, 0];
    return { p50: int(p50), p90: int(p90), p99: int(p99), max: int(summary[`${c}_max`]) };
  };
  const top = (JSON.parse(rows[0]!.top ?? '[]') as Record<string, number | string>[]).map((t) => ({
    user: String(t.k),
    buckets: int(t.b),
    results: int(t.r),
    parts: [
      ...perUser.map((s, i) => ({
        definition: s.definition,
        line: s.line,
        buckets: int(t[`n${i}`]),
        results: int(t[`r${i}`])
      })),
      ...fixed
    ]
      .filter((p) => p.buckets > 0)
      .sort((x, y) => y.buckets - x.buckets || x.line - y.line)
  }));
  return {
    snapshotTakenAt: options.snapshotTakenAt,
    limit,
    thresholds: o.thresholds,
    users: int(summary.users),
    usersFrom: a.held.users ? 'users table' : 'parameter rows',
    fixed,
    buckets: spread('b'),
    results: spread('r'),
    histogram: histogramOf(JSON.parse(rows[0]!.histogram ?? '[]'), limit),
    over: o.thresholds.map((threshold, i) => ({ threshold, users: int(summary.over[i]) })),
    listed: top.filter((u) => u.buckets > o.thresholds[0]!).slice(0, o.listSize),
    top: top.slice(0, o.historySize).map((u) => ({ user: u.user, buckets: u.buckets }))
  };
}
