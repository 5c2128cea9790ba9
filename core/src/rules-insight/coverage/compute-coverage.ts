/**
 * Coverage: for each table the rules sync, the rows no user receives (no data query selects them into a
 * bucket a user holds), with the nearest rule; the users a parameter query gives nothing; the type
 * mismatches that make filters never match. Aggregates and LIMITed samples only, in the caller's
 * snapshot (one REPEATABLE READ READ ONLY session with a statement timeout).
 */

import type pg from 'pg';
import type { Expr } from 'pgsql-ast-parser';
import { whereSql } from '../../probe/expected/rule-analysis.ts';
import {
  columnSql,
  conditionsSql,
  ifTranslatable,
  type TypeMismatch,
  UntranslatableCondition
} from './filter-sql.ts';
import { heldSql, holderSql, type LocatedMismatch } from './held-buckets-sql.ts';
import type {
  DataQueryShape,
  DefinitionShape,
  Located,
  NotAnalysed,
  TableParameterSource
} from './rule-shapes.ts';
import type { SourceAnalysis, TableProblem } from './source-analysis.ts';
import { type CatalogTable, tableKey, yes } from './source-catalog.ts';

export const DEFAULT_SAMPLE_SIZE = 5;

export interface QueryCoverage extends Located {
  bucketParameters: string[];
  /** Rows it selects into a bucket no user's parameter query gives. */
  inUnheldBucket: number;
  /** Rows whose bucket column is NULL (NULL never equals a bucket parameter). */
  nullParameter: number;
  /** Rows its other conditions leave out. */
  conditionFails: number;
}

export interface UncoveredRow {
  id: string;
  /** Why, naming the nearest rule. */
  reason: string;
}

export interface TableCoverage {
  table: string;
  rows: number;
  rowsInNoBucket: number;
  queries: QueryCoverage[];
  samples: UncoveredRow[];
}

export interface ParameterGap extends Located {
  users: number;
  usersWithout: number;
  sampleUserIds: string[];
}

export interface CoverageReport {
  snapshotTakenAt: string;
  tables: TableCoverage[];
  tableProblems: TableProblem[];
  typeMismatches: LocatedMismatch[];
  /** Parameter queries that give some known users (user_search) nothing. */
  parameterGaps: ParameterGap[];
  /** Known users no parameter query gives a bucket ("connected, but no data"); absent when unknowable. */
  usersWithoutBuckets?: { users: number; count: number; sampleUserIds: string[] };
  notAnalysed: (NotAnalysed | { table: string; reason: string })[];
  /** Sync streams: their buckets depend on client subscriptions, which coverage does not know. */
  streams: string[];
}

type Queryable = Pick<pg.Client, 'query'>;

interface Planned {
  q: DataQueryShape;
  d: DefinitionShape;
  cond: string;
  notNull: string;
  held: string;
  values: string[];
  /** Number-class bucket columns print without quotes. */
  numeric: boolean[];
}

function recordConditionMismatches(a: SourceAnalysis, where: Located, found: TypeMismatch[]): void {
  for (const m of found)
    if (!a.held.mismatches.some((x) => x.line === where.line && x.message === m.message))
      a.held.mismatches.push({
        ...m,
        definition: where.definition,
        sql: where.sql,
        line: where.line,
        fix: "compare with a value of the column's type (a quoted string for a text column, a bare number for a number column)"
      });
}

function conditions(a: SourceAnalysis, where: Located, terms: Expr[], table: CatalogTable, alias: string) {
  const found: TypeMismatch[] = [];
  const sql = conditionsSql(terms, table, alias, found);
  recordConditionMismatches(a, where, found);
  return sql;
}

const sourceConditions = (a: SourceAnalysis) => (s: TableParameterSource, table: CatalogTable) =>
  conditions(a, s, s.conditions, table, 's');

function plan(a: SourceAnalysis, row: CatalogTable, d: DefinitionShape, q: DataQueryShape): Planned {
  const operands = q.bucketColumns.map((b) => columnSql(row, 't', b.column));
  const cols = operands.map((o) => o.sql);
  return {
    q,
    d,
    cond: conditions(a, q, q.conditions, row, 't'),
    notNull: cols.length ? cols.map((c) => `${c} IS NOT NULL`).join(' AND ') : 'TRUE',
    held: heldSql(q, row, d, a.held, sourceConditions(a)),
    values: cols,
    numeric: operands.map((o) => o.valueClass === 'number')
  };
}

function sampleReason(p: Planned[], r: Record<string, unknown>): string {
  const at = (x: Planned) => `${x.d.name} (line ${x.q.line})`;
  const unheld = p.findIndex((_, i) => yes(r[`c${i}`]) && yes(r[`n${i}`]));
  if (unheld >= 0) {
    const x = p[unheld]!;
    const values = x.q.bucketColumns.map((b, k) => {
      const value = r[`v${unheld}_${k}`];
      return `${b.parameter} = ${x.numeric[k] ? value : JSON.stringify(value)}`;
    });
    return `${at(x)} puts it in a bucket no user holds: no user's parameter query gives ${values.join(', ')}`;
  }
  const nulls = p.findIndex((_, i) => yes(r[`c${i}`]));
  if (nulls >= 0) {
    const x = p[nulls]!;
    const column = x.q.bucketColumns.find((_, k) => r[`v${nulls}_${k}`] === null)?.column;
    return `${column} is NULL, so ${at(x)} puts it in no bucket`;
  }
  return `no data query's condition matches it (${p.map((x) => `${at(x)}: WHERE ${whereSql(x.q.sql)}`).join('; ')})`;
}

async function coverTable(
  client: Queryable,
  row: CatalogTable,
  planned: Planned[],
  sampleSize: number
): Promise<TableCoverage> {
  const inner = planned.flatMap((p, i) => [
    `COALESCE(${p.cond}, FALSE) AS c${i}`,
    `(${p.notNull}) AS n${i}`,
    `COALESCE(${p.held}, FALSE) AS h${i}`,
    ...p.values.map((v, k) => `(${v})::text AS v${i}_${k}`)
  ]);
  const idColumn = row.columns.has('id') ? 'id' : undefined;
  const from = `(SELECT ${idColumn ? '(t.id)::text AS row_id, ' : ''}${inner.join(', ')} FROM ${row.sqlName} t) x`;
  const covered = planned.length
    ? planned.map((_, i) => `(c${i} AND n${i} AND h${i})`).join(' OR ')
    : 'FALSE';
  const counts = planned.flatMap((_, i) => [
    `count(*) FILTER (WHERE NOT (${covered}) AND c${i} AND n${i})::int AS u${i}`,
    `count(*) FILTER (WHERE NOT (${covered}) AND c${i} AND NOT n${i})::int AS z${i}`,
    `count(*) FILTER (WHERE NOT (${covered}) AND NOT c${i})::int AS f${i}`
  ]);
  const { rows } = await client.query<Record<string, number | string>>(
    `SELECT count(*)::text AS total, count(*) FILTER (WHERE NOT (${covered}))::text AS uncovered${counts.map((c) => `, ${c}`).join('')} FROM ${from}`
  );
  const totals = rows[0]!;
  const uncovered = Number(totals.uncovered);
  const samples =
    idColumn && uncovered > 0
      ? (
          await client.query<Record<string, unknown>>(
            `SELECT * FROM ${from} WHERE NOT (${covered}) ORDER BY row_id LIMIT $1`,
            [sampleSize]
          )
        ).rows.map((r) => ({ id: String(r.row_id), reason: sampleReason(planned, r) }))
      : [];
  return {
    table: tableKey(row),
    rows: Number(totals.total),
    rowsInNoBucket: uncovered,
    queries: planned.map((p, i) => ({
      definition: p.d.name,
      sql: p.q.sql,
      line: p.q.line,
      bucketParameters: p.q.bucketColumns.map((b) => b.parameter),
      inUnheldBucket: Number(totals[`u${i}`]),
      nullParameter: Number(totals[`z${i}`]),
      conditionFails: Number(totals[`f${i}`])
    })),
    samples
  };
}

/** The users (user_search) a user-id parameter query gives no row. */
async function parameterGap(
  client: Queryable,
  a: SourceAnalysis,
  s: TableParameterSource,
  sampleSize: number
): Promise<ParameterGap | undefined> {
  const users = a.held.users;
  const table = a.catalog.get(tableKey(s.table));
  if (!users || !table || s.lookup?.request.kind !== 'user_id') return undefined;
  const has = ifTranslatable(() => hasRowSql(a, s, table));
  if (!has) return undefined;
  const id = `(${columnSql(users.table, 'u', users.idColumn).sql})::text`;
  const { rows } = await client.query<{ users: string; without: string }>(
    `SELECT count(*)::int AS users, count(*) FILTER (WHERE NOT (${has}))::int AS without FROM ${users.table.sqlName} u`
  );
  const { rows: sample } = await client.query<{ id: string }>(
    `SELECT ${id} AS id FROM ${users.table.sqlName} u WHERE NOT (${has}) ORDER BY 1 LIMIT $1`,
    [sampleSize]
  );
  return {
    definition: s.definition,
    sql: s.sql,
    line: s.line,
    users: Number(rows[0]!.users),
    usersWithout: Number(rows[0]!.without),
    sampleUserIds: sample.map((r) => r.id)
  };
}

/** Over the user `u`: the parameter query returns a row for them. */
function hasRowSql(a: SourceAnalysis, s: TableParameterSource, table: CatalogTable): string {
  const users = a.held.users!;
  if (holderSql(s, table, a.held) === 'FALSE') return 'FALSE';
  const lookup = columnSql(table, 's', s.lookup!.column).sql;
  const id = `(${columnSql(users.table, 'u', users.idColumn).sql})::text`;
  return `COALESCE(${id} IN (SELECT (${lookup})::text FROM ${table.sqlName} s WHERE ${lookup} IS NOT NULL AND ${sourceConditions(a)(s, table)}), FALSE)`;
}

/** Known users no parameter query gives anything, when every bucket comes from a user-id lookup. */
async function usersWithoutBuckets(
  client: Queryable,
  a: SourceAnalysis,
  sampleSize: number
): Promise<CoverageReport['usersWithoutBuckets']> {
  const users = a.held.users;
  const defs = a.shapes.definitions;
  const sources = defs.flatMap((d) => d.sources);
  const onlyUserLookups =
    defs.every((d) => !d.global && d.complete) &&
    sources.every((s) => s.kind === 'table' && s.lookup?.request.kind === 'user_id');
  if (!users || !onlyUserLookups || sources.length === 0) return undefined;
  const any = ifTranslatable(() =>
    sources
      .map((s) => {
        const table = a.catalog.get(tableKey((s as TableParameterSource).table));
        return table ? hasRowSql(a, s as TableParameterSource, table) : 'FALSE';
      })
      .join(' OR ')
  );
  if (!any) return undefined;
  const id = `(${columnSql(users.table, 'u', users.idColumn).sql})::text`;
  const { rows } = await client.query<{ users: string; without: string }>(
    `SELECT count(*)::int AS users, count(*) FILTER (WHERE NOT (${any}))::int AS without FROM ${users.table.sqlName} u`
  );
  const { rows: sample } = await client.query<{ id: string }>(
    `SELECT ${id} AS id FROM ${users.table.sqlName} u WHERE NOT (${any}) ORDER BY 1 LIMIT $1`,
    [sampleSize]
  );
  return {
    users: Number(rows[0]!.users),
    count: Number(rows[0]!.without),
    sampleUserIds: sample.map((r) => r.id)
  };
}

interface CoveragePlan {
  tables: { table: CatalogTable; planned: Planned[] }[];
  skipped: { table: string; reason: string }[];
}

/**
 * Each coverable table's data queries as SQL (building it also collects the type mismatches), and why
 * the other tables cannot be covered.
 */
export function planCoverage(a: SourceAnalysis): CoveragePlan {
  const out: CoveragePlan = { tables: [], skipped: [] };
  const keys = [...new Set(a.shapes.definitions.flatMap((d) => d.dataTables.map(tableKey)))];
  for (const key of keys) {
    const row = a.catalog.get(key);
    if (!row) continue; // a table problem says it is missing
    const incomplete = a.shapes.definitions.find(
      (d) => !d.complete && d.dataTables.some((t) => tableKey(t) === key)
    );
    if (incomplete) {
      out.skipped.push({
        table: key,
        reason: `bucket definition ${incomplete.name} has a query SyncScope cannot evaluate in SQL`
      });
      continue;
    }
    try {
      const planned = a.shapes.definitions.flatMap((d) =>
        d.dataQueries.filter((q) => tableKey(q.table) === key).map((q) => plan(a, row, d, q))
      );
      out.tables.push({ table: row, planned });
    } catch (error) {
      if (!(error instanceof UntranslatableCondition)) throw error;
      out.skipped.push({ table: key, reason: error.message });
    }
  }
  return out;
}

export async function computeCoverage(
  client: Queryable,
  a: SourceAnalysis,
  options: { sampleSize?: number; snapshotTakenAt: string }
): Promise<CoverageReport> {
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  const { tables, skipped } = planCoverage(a);
  const covered: TableCoverage[] = [];
  for (const { table, planned } of tables) covered.push(await coverTable(client, table, planned, sampleSize));
  const gaps: ParameterGap[] = [];
  for (const s of a.shapes.definitions.flatMap((d) => d.sources)) {
    const gap = s.kind === 'table' ? await parameterGap(client, a, s, sampleSize) : undefined;
    if (gap) gaps.push(gap);
  }
  const without = await usersWithoutBuckets(client, a, sampleSize);
  return {
    snapshotTakenAt: options.snapshotTakenAt,
    tables: covered,
    tableProblems: a.tableProblems,
    typeMismatches: [...a.held.mismatches].sort((x, y) => x.line - y.line),
    parameterGaps: gaps,
    ...(without ? { usersWithoutBuckets: without } : {}),
    notAnalysed: [...a.shapes.notAnalysed, ...skipped],
    streams: a.shapes.streams
  };
}
