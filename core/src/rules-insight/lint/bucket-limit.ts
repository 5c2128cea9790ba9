/**
 * The bucket count of the user with the most buckets, from the parameter tables: for user-id lookups
 * the distinct bucket parameters each user's rows give, summed per user in SQL (GROUP BY, top 1);
 * every other source adds what it gives anyone at most (a global definition or a query without a
 * table: 1; a table without a lookup: all its rows; a claim lookup: the most any claim value gets).
 * Overlaps between two queries of one definition are counted twice, so it is an upper bound.
 */
import type pg from 'pg';
import { columnSql, conditionsSql, ifTranslatable } from '../coverage/filter-sql.ts';
import { holderSql } from '../coverage/held-buckets-sql.ts';
import type { TableParameterSource } from '../coverage/rule-shapes.ts';
import type { SourceAnalysis } from '../coverage/source-analysis.ts';
import { tableKey } from '../coverage/source-catalog.ts';
import type { LintFinding } from './lint-rules.ts';

/** The service's default `max_buckets_per_connection` (PSYNC_S2305 past it). */
export const DEFAULT_BUCKET_LIMIT = 1000;

type Queryable = Pick<pg.Client, 'query'>;

interface Part {
  definition: string;
  line: number;
  n: number;
}

interface SourceSql {
  definition: string;
  line: number;
  /** Per lookup value: `SELECT key, n` rows (n distinct buckets). */
  perKey: string;
  byUser: boolean;
}

function sourceSql(a: SourceAnalysis, s: TableParameterSource): SourceSql | undefined {
  const table = a.catalog.get(tableKey(s.table));
  if (!table) return undefined;
  const outputs = [...s.outputs.values()].map((c) => columnSql(table, 's', c).sql);
  const buckets = outputs.length
    ? `count(DISTINCT jsonb_build_array(${outputs.join(', ')}))`
    : 'least(count(*), 1)';
  const where = `${holderSql(s, table, a.held)} AND ${conditionsSql(s.conditions, table, 's', [])}`;
  const key = s.lookup ? `(${columnSql(table, 's', s.lookup.column).sql})::text` : `''`;
  return {
    definition: s.definition,
    line: s.line,
    perKey: `SELECT ${key} AS k, ${buckets}::int AS n FROM ${table.sqlName} s WHERE ${where} GROUP BY 1`,
    byUser: s.lookup?.request.kind === 'user_id'
  };
}

export async function bucketLimitFinding(
  client: Queryable,
  a: SourceAnalysis,
  limit: number
): Promise<LintFinding | undefined> {
  const parts: Part[] = [];
  for (const d of a.shapes.definitions) {
    if (d.global) parts.push({ definition: d.name, line: d.line, n: 1 });
    for (const s of d.sources)
      if (s.kind === 'static') parts.push({ definition: d.name, line: s.line, n: 1 });
  }
  const sources = a.shapes.definitions
    .flatMap((d) => d.sources)
    .flatMap((s) => (s.kind === 'table' ? (ifTranslatable(() => sourceSql(a, s)) ?? []) : []));
  for (const s of sources.filter((x) => !x.byUser)) {
    // The session returns Postgres's text forms (source-session.ts).
    const { rows } = await client.query<{ n: string | null }>(`SELECT max(n)::int AS n FROM (${s.perKey}) x`);
    parts.push({ definition: s.definition, line: s.line, n: Number(rows[0]?.n ?? 0) });
  }
  const byUser = sources.filter((x) => x.byUser);
  let top: { user: string; total: number; per: Record<string, number> } | undefined;
  if (byUser.length > 0) {
    const union = byUser
      .map((s, i) => `SELECT k, n, ${i} AS src FROM (${s.perKey}) p${i}`)
      .join(' UNION ALL ');
    const { rows } = await client.query<{ k: string; total: string; per: string }>(
      `SELECT k, sum(n)::int AS total, jsonb_object_agg(src, n) AS per FROM (${union}) x GROUP BY k ORDER BY 2 DESC, 1 LIMIT 1`
    );
    if (rows[0]) top = { user: rows[0].k, total: Number(rows[0].total), per: JSON.parse(rows[0].per) };
  }
  for (const [i, s] of byUser.entries())
    parts.push({ definition: s.definition, line: s.line, n: top?.per[String(i)] ?? 0 });
  const total = parts.reduce((sum, p) => sum + p.n, 0);
  if (total <= limit * 0.8) return undefined;
  const ranked = parts.filter((p) => p.n > 0).sort((x, y) => y.n - x.n);
  const breakdown = ranked
    .map((p) => `${p.definition} (line ${p.line}): ${p.n.toLocaleString('en-US')}`)
    .join(', ');
  return {
    rule: 'bucket-limit',
    severity: total > limit ? 'error' : 'warning',
    line: ranked[0]?.line ?? 0,
    message: `${top ? `User ${top.user}` : 'The user with the most buckets'} gets up to ${total.toLocaleString('en-US')} buckets (${breakdown}); the service refuses a connection over ${limit.toLocaleString('en-US')} (PSYNC_S2305: too many buckets)${total > limit ? '' : ', and this is within 20% of it'}.`,
    fix: 'give fewer, larger buckets (e.g. one per organisation rather than per project, filtering rows in the app), or raise api.parameters.max_buckets_per_connection in the service config and rules_insight.bucket_limit in the targets file together'
  };
}
