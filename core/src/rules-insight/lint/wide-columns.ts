/**
 * `SELECT *` over wide columns: the average size of each variable-width column, measured on the first
 * WIDE_SAMPLE_ROWS rows (pg_stats' avg_width counts a TOASTed value at its compressed or pointer size,
 * which hides exactly the large values this is about).
 */
import pg from 'pg';
import { PgOid } from '../../values/pg-values.ts';
import type { DataQueryShape } from '../coverage/rule-shapes.ts';
import type { SourceAnalysis } from '../coverage/source-analysis.ts';
import { tableKey } from '../coverage/source-catalog.ts';
import type { LintFinding } from './lint-rules.ts';

/** A column averaging this many bytes or more makes `SELECT *` a finding. */
export const WIDE_COLUMN_BYTES = 1024;
export const WIDE_SAMPLE_ROWS = 1000;

export async function wideSelectStar(
  client: Pick<pg.Client, 'query'>,
  a: SourceAnalysis,
  q: DataQueryShape
): Promise<LintFinding | undefined> {
  const table = a.catalog.get(tableKey(q.table));
  if (!q.selectStar || !table) return undefined;
  const columns = [...table.columns.values()];
  const variable = columns.filter((c) => c.variableWidth);
  if (variable.length === 0) return undefined;
  const sizes = variable.map((c, i) => {
    const ref = pg.escapeIdentifier(c.name);
    return `avg(octet_length(${c.typeOid === PgOid.BYTEA ? ref : `${ref}::text`}))::int AS w${i}`;
  });
  const { rows } = await client.query<Record<string, string | null>>(
    `SELECT ${sizes.join(', ')} FROM (SELECT ${variable.map((c) => pg.escapeIdentifier(c.name)).join(', ')} FROM ${table.sqlName} LIMIT ${WIDE_SAMPLE_ROWS}) s`
  );
  const wide = variable
    .map((c, i) => ({ column: c, bytes: Number(rows[0]?.[`w${i}`] ?? 0) }))
    .filter((w) => w.bytes >= WIDE_COLUMN_BYTES);
  if (wide.length === 0) return undefined;
  const keep = columns.filter((c) => !wide.some((w) => w.column === c)).map((c) => c.name);
  return {
    rule: 'wide-select-star',
    severity: 'warning',
    line: q.line,
    message: `SELECT * syncs ${wide.map((w) => `${q.table.name}.${w.column.name} (${w.column.typeName}, ${w.bytes.toLocaleString('en-US')} bytes on average)`).join(', ')} in every row of every bucket.`,
    fix: `name the columns the app needs: SELECT ${keep.join(', ')} FROM ${q.table.name} …`
  };
}
