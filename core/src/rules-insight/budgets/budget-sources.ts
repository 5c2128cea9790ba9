/**
 * Where each user's buckets come from, as SQL over the parameter tables: a user-id lookup gives each
 * user the distinct bucket parameters of their rows (counted per user in SQL); every other source gives
 * every user the same at most (a definition without parameters or a query without a table: 1; a table
 * read without a lookup: all its rows; a claim lookup: the most any one claim value gets). Shared by the
 * budgets and the bucket-limit lint. Two queries of one definition that give the same bucket are counted
 * twice, so a count is an upper bound.
 */
import type pg from 'pg';
import { PgOid } from '../../values/pg-values.ts';
import { columnSql, conditionsSql, ifTranslatable } from '../coverage/filter-sql.ts';
import { holderSql } from '../coverage/held-buckets-sql.ts';
import type { TableParameterSource } from '../coverage/rule-shapes.ts';
import type { SourceAnalysis } from '../coverage/source-analysis.ts';
import { type CatalogTable, tableKey } from '../coverage/source-catalog.ts';

/** The service's default `max_buckets_per_connection` (PSYNC_S2305 past it). */
export const DEFAULT_BUCKET_LIMIT = 1000;

type Queryable = Pick<pg.Client, 'query'>;

/** A rule line and what it gives a user: buckets, and the parameter-query rows behind them. */
export interface BudgetPart {
  definition: string;
  line: number;
  buckets: number;
  results: number;
}

/** A user-id lookup: `SELECT k, n, r` per user id (n distinct buckets from r parameter rows). */
export interface PerUserSource {
  definition: string;
  line: number;
  sql: string;
}

export interface BudgetSources {
  /** What every user gets, whoever they are. */
  fixed: BudgetPart[];
  perUser: PerUserSource[];
}

/**
 * Rows of one lookup value give distinct buckets without a DISTINCT when a unique key of the table lies
 * within the lookup and output columns (NOT NULL, and not floats, whose cast to numeric may round).
 */
function rowsAreDistinct(table: CatalogTable, s: TableParameterSource): boolean {
  const within = new Set([...s.outputs.values(), ...(s.lookup ? [s.lookup.column] : [])]);
  const exact = (c: string) => {
    const oid = table.columns.get(c)?.typeOid;
    return oid !== PgOid.FLOAT4 && oid !== PgOid.FLOAT8;
  };
  return table.uniqueKeys.some((key) => key.every((c) => within.has(c) && exact(c)));
}

/**
 * Per key: distinct bucket parameters (n) and parameter rows (r). Distinct parameters are groups of a
 * GROUP BY (a NULL parameter is a bucket too, one group as in the service's JSON), hashed rather than
 * a per-key sorted DISTINCT; when the table's rows are distinct already, rows are buckets.
 */
function perKeySql(a: SourceAnalysis, s: TableParameterSource): string | undefined {
  const table = a.catalog.get(tableKey(s.table));
  if (!table) return undefined;
  // A user-id lookup keeps every non-NULL id here: the users table filters the grouped keys once
  // (perUserSql) instead of probing it for every parameter row.
  const held = s.lookup?.request.kind === 'user_id' ? { ...a.held, users: undefined } : a.held;
  const where = `${holderSql(s, table, held)} AND ${conditionsSql(s.conditions, table, 's', [])}`;
  const key = s.lookup ? `(${columnSql(table, 's', s.lookup.column).sql})::text` : `''`;
  const from = `${table.sqlName} s WHERE ${where}`;
  const outputs = [...s.outputs.values()].map((c) => columnSql(table, 's', c).sql);
  if (outputs.length === 0) return `SELECT ${key} AS k, 1 AS n, count(*)::int AS r FROM ${from} GROUP BY 1`;
  if (rowsAreDistinct(table, s))
    return `SELECT ${key} AS k, count(*)::int AS n, count(*)::int AS r FROM ${from} GROUP BY 1`;
  const columns = outputs.map((o, i) => `${o} AS o${i}`).join(', ');
  return `SELECT k, count(*)::int AS n, sum(rows)::int AS r FROM (
      SELECT ${key} AS k, ${columns}, count(*) AS rows FROM ${from} GROUP BY ${[0, ...outputs].map((_, i) => i + 1).join(', ')}
    ) g GROUP BY k`;
}

/** The analysed sources of every definition; sources read without a user-id lookup are counted now. */
export async function budgetSources(client: Queryable, a: SourceAnalysis): Promise<BudgetSources> {
  const fixed: BudgetPart[] = [];
  const perUser: PerUserSource[] = [];
  for (const d of a.shapes.definitions) {
    if (d.global) fixed.push({ definition: d.name, line: d.line, buckets: 1, results: 1 });
    for (const s of d.sources) {
      if (s.kind === 'static') {
        fixed.push({ definition: d.name, line: s.line, buckets: 1, results: 1 });
        continue;
      }
      const sql = ifTranslatable(() => perKeySql(a, s));
      if (!sql) continue;
      if (s.lookup?.request.kind === 'user_id') {
        perUser.push({ definition: d.name, line: s.line, sql });
        continue;
      }
      // The session returns Postgres's text forms (source-session.ts).
      const { rows } = await client.query<{ n: string | null; r: string | null }>(
        `SELECT max(n)::int AS n, max(r)::int AS r FROM (${sql}) x`
      );
      fixed.push({
        definition: d.name,
        line: s.line,
        buckets: Number(rows[0]?.n ?? 0),
        results: Number(rows[0]?.r ?? 0)
      });
    }
  }
  return { fixed, perUser };
}

/**
 * `SELECT k, n0, r0, n1, r1, …` per user id: each user-id lookup's buckets and rows, one GROUP BY; with
 * a users table (user_search), only its users.
 */
export function perUserSql(a: SourceAnalysis, sources: PerUserSource[]): string {
  const union = sources
    .map((s, i) => `SELECT k, n, r, ${i} AS src FROM (${s.sql}) p${i}`)
    .join(' UNION ALL ');
  const columns = sources.flatMap((_, i) => [
    `coalesce(sum(n) FILTER (WHERE src = ${i}), 0)::int AS n${i}`,
    `coalesce(sum(r) FILTER (WHERE src = ${i}), 0)::int AS r${i}`
  ]);
  const users = a.held.users;
  const known = users
    ? ` WHERE k IN (SELECT (${columnSql(users.table, 'u', users.idColumn).sql})::text FROM ${users.table.sqlName} u)`
    : '';
  return `SELECT k, ${columns.join(', ')} FROM (${union}) x${known} GROUP BY k`;
}
