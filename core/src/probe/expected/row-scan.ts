import type { SqliteJsonValue } from '@powersync/service-sync-rules';
import pg from 'pg';
import { PgOid } from '../../values/pg-values.ts';
import type { SourceColumn, SourceTableInfo } from './source-tables.ts';

export const FETCH_ROWS = 5000;

export type TextRow = Record<string, string | null>;

let cursorSeq = 0;

/**
 * Streams a query's rows through a server-side cursor, `FETCH_ROWS` at a time; the next batch is asked
 * for while the current one is processed, so reading and evaluating overlap. Memory holds at most two
 * batches. Returns the number of rows read.
 */
export async function scanRows(
  client: pg.Client,
  sql: string,
  params: unknown[],
  onBatch: (rows: TextRow[]) => void | Promise<void>,
  batchSize = FETCH_ROWS
): Promise<number> {
  const cursor = `syncscope_probe_${++cursorSeq}`;
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, params);
  const fetch = () => {
    const p = client.query<TextRow>(`FETCH ${batchSize} FROM ${cursor}`);
    p.catch(() => {});
    return p;
  };
  let total = 0;
  let next: Promise<pg.QueryResult<TextRow>> | null = fetch();
  while (next) {
    const { rows }: pg.QueryResult<TextRow> = await next;
    next = rows.length === batchSize ? fetch() : null;
    total += rows.length;
    if (rows.length > 0) await onBatch(rows);
  }
  await client.query(`CLOSE ${cursor}`);
  return total;
}

const INT8_MIN = -(2n ** 63n);
const INT8_MAX = 2n ** 63n - 1n;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function textForm(value: SqliteJsonValue): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? null : value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Number.isInteger(value) ? BigInt(value).toString() : String(value);
  }
  return null;
}

/**
 * `column = ANY($n)` selecting every row whose column, decoded as the service decodes it, could equal one
 * of `values` in a bucket id or parameter lookup. Only for types whose text form is exactly what the
 * rules see (text, varchar, uuid, integers); null for any other type (the caller reads the whole table).
 * Values of the wrong type for the column are dropped: such a row could never produce them.
 */
export function equalityCondition(
  column: SourceColumn,
  values: readonly SqliteJsonValue[],
  params: unknown[]
): string | null {
  const texts = [...new Set(values.map(textForm).filter((t): t is string => t !== null))];
  const ident = pg.escapeIdentifier(column.name);
  switch (column.typeOid) {
    case PgOid.TEXT:
    case PgOid.VARCHAR:
      params.push(texts);
      return `${ident}::text = ANY($${params.length}::text[])`;
    case PgOid.INT2:
    case PgOid.INT4:
    case PgOid.INT8: {
      const ints = texts.filter((t) => {
        if (!/^-?\d+$/.test(t)) return false;
        const n = BigInt(t);
        return n >= INT8_MIN && n <= INT8_MAX;
      });
      params.push(ints);
      return `${ident} = ANY($${params.length}::int8[])`;
    }
    case PgOid.UUID:
      params.push(texts.filter((t) => UUID.test(t)));
      return `${ident} = ANY($${params.length}::uuid[])`;
    default:
      return null;
  }
}

/**
 * `SELECT <columns> FROM table [WHERE ...]` for a table, all values as text: its `readColumns` (what the
 * rules read, which is all a least-privilege role may read), else `*`.
 */
export function selectFrom(table: SourceTableInfo, where?: string | null): string {
  const columns = table.readColumns ? table.readColumns.map((c) => pg.escapeIdentifier(c)).join(', ') : '*';
  return `SELECT ${columns} FROM ${table.sqlName}${where ? ` WHERE ${where}` : ''}`;
}

/** The replica id of a row: its key columns (one: the value; several: a JSON array), as the service keys rows. */
export function replicaIdOf(table: SourceTableInfo, row: TextRow): string {
  const keys = table.keyColumns.length > 0 ? table.keyColumns : ['id'];
  if (keys.length === 1) return String(row[keys[0]!] ?? '');
  return JSON.stringify(keys.map((c) => row[c] ?? null));
}
