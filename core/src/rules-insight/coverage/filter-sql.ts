/**
 * A rule's row conditions as Postgres SQL with sync rules' comparison semantics: a text value never
 * equals a number (`'42' = 42` is false in the rules, an error in Postgres), numbers compare as numbers
 * whatever their width, and everything the rules see as text compares as its text. Only comparisons,
 * AND/OR/NOT and IS [NOT] NULL of columns and literals are translated; anything else is refused.
 */
import pg from 'pg';
import type { Expr } from 'pgsql-ast-parser';
import type { CatalogTable, ValueClass } from './source-catalog.ts';

type Operand = { sql: string; valueClass: ValueClass | 'null'; label: string };

/** A comparison of a text value with a number: it never matches. */
export interface TypeMismatch {
  left: string;
  right: string;
  message: string;
}

export class UntranslatableCondition extends Error {}

/** `make()`, or undefined when a condition it needs cannot be translated (that part is left out). */
export function ifTranslatable<T>(make: () => T): T | undefined {
  try {
    return make();
  } catch (error) {
    if (error instanceof UntranslatableCondition) return undefined;
    throw error;
  }
}

const COMPARISONS = new Set(['=', '!=', '<', '>', '<=', '>=']);

/**
 * `t."col"` as a value of its class, so equal values are equal in SQL too: numbers as numeric (an int
 * equals a float), booleans as the 1/0 the rules see, text types (uuid, numeric, dates) as text.
 */
export function columnSql(table: CatalogTable, alias: string, column: string): Operand {
  const c = table.columns.get(column);
  if (!c)
    throw new UntranslatableCondition(`column ${column} does not exist in ${table.schema}.${table.name}`);
  const ref = `${alias}.${pg.escapeIdentifier(column)}`;
  const sql =
    c.typeOid === 16
      ? `(${ref})::int::numeric`
      : c.valueClass === 'number'
        ? `(${ref})::numeric`
        : c.valueClass === 'text'
          ? `(${ref})::text`
          : ref;
  return { sql, valueClass: c.valueClass, label: `${table.name}.${column} (${c.typeName})` };
}

function operand(e: Expr, table: CatalogTable, alias: string): Operand {
  switch (e.type) {
    case 'ref':
      return columnSql(table, alias, e.name);
    case 'string':
      return { sql: pg.escapeLiteral(e.value), valueClass: 'text', label: `'${e.value}' (text)` };
    case 'integer':
    case 'numeric':
      return { sql: String(e.value), valueClass: 'number', label: `${e.value} (integer)` };
    case 'boolean':
      return { sql: e.value ? '1' : '0', valueClass: 'number', label: `${e.value} (integer)` };
    case 'null':
      return { sql: 'NULL', valueClass: 'null', label: 'NULL' };
    default:
      throw new UntranslatableCondition(`\`${e.type}\` expressions are not translated`);
  }
}

/** Why `a op b` never matches in the rules, or undefined when it can. */
export function mismatchOf(a: Operand, b: Operand): TypeMismatch | undefined {
  if (a.valueClass === 'null' || b.valueClass === 'null' || a.valueClass === b.valueClass) return undefined;
  return {
    left: a.label,
    right: b.label,
    message: `${a.label} is compared with ${b.label}: sync rules compare ${a.valueClass} and ${b.valueClass} values as different ('42' is not 42), so this never matches`
  };
}

/** The condition as SQL over `alias`; type mismatches found along the way are pushed to `mismatches`. */
export function conditionSql(
  e: Expr,
  table: CatalogTable,
  alias: string,
  mismatches: TypeMismatch[]
): string {
  if (e.type === 'binary' && (e.op === 'AND' || e.op === 'OR'))
    return `(${conditionSql(e.left, table, alias, mismatches)} ${e.op} ${conditionSql(e.right, table, alias, mismatches)})`;
  if (e.type === 'unary' && e.op === 'NOT')
    return `(NOT ${conditionSql(e.operand, table, alias, mismatches)})`;
  if (e.type === 'unary' && (e.op === 'IS NULL' || e.op === 'IS NOT NULL'))
    return `(${operand(e.operand, table, alias).sql} ${e.op})`;
  if (e.type === 'binary' && COMPARISONS.has(e.op)) {
    const a = operand(e.left, table, alias);
    const b = operand(e.right, table, alias);
    const mismatch = mismatchOf(a, b);
    if (mismatch) {
      if (e.op !== '=' && e.op !== '!=')
        throw new UntranslatableCondition('an ordering of text against numbers is not translated');
      mismatches.push(mismatch);
      return e.op === '=' ? 'FALSE' : 'TRUE';
    }
    return `(${a.sql} ${e.op === '!=' ? '<>' : e.op} ${b.sql})`;
  }
  if (e.type === 'ref') return `(${operand(e, table, alias).sql} <> 0)`;
  throw new UntranslatableCondition(`\`${e.type}\` conditions are not translated`);
}

/** All conditions, ANDed (TRUE for none). */
export function conditionsSql(
  terms: Expr[],
  table: CatalogTable,
  alias: string,
  mismatches: TypeMismatch[]
): string {
  return terms.length === 0
    ? 'TRUE'
    : terms.map((t) => conditionSql(t, table, alias, mismatches)).join(' AND ');
}

/** `a = b` between two columns (or a column and a request value's class) as the rules compare them. */
export function equalitySql(a: Operand, b: Operand): string {
  return mismatchOf(a, b) ? 'FALSE' : `(${a.sql} = ${b.sql})`;
}
