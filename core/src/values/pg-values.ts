import { JsonContainer } from '@powersync/service-jsonbig';
import {
  type DatabaseInputRow,
  type DatabaseInputValue,
  DateTimeValue,
  type SqliteInputRow,
  TimeValue,
  TimeValuePrecision,
  toSyncRulesRow
} from '@powersync/service-sync-rules';
import { parsePgArrayLiteral } from './pg-array-literal.ts';

/**
 * Postgres text values → the values the PowerSync service feeds its sync rules. This mirrors the
 * service's own decoding (per type OID) so that row JSON, and therefore checksums, match the real
 * service byte for byte. Anything not listed (numeric, enums, intervals, ...) stays as its text form.
 */
export const PgOid = {
  BOOL: 16,
  BYTEA: 17,
  INT8: 20,
  INT2: 21,
  INT4: 23,
  TEXT: 25,
  OID: 26,
  JSON: 114,
  FLOAT4: 700,
  FLOAT8: 701,
  VARCHAR: 1043,
  DATE: 1082,
  TIME: 1083,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
  NUMERIC: 1700,
  UUID: 2950,
  PG_LSN: 3220,
  JSONB: 3802
} as const;

/** Array type OID → element type OID, for the built-in types the service decodes element-wise. */
const ARRAY_ELEMENT_OID = new Map<number, number>([
  [1000, 16],
  [1001, 17],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1009, 25],
  [1028, 26],
  [199, 114],
  [1021, 700],
  [1022, 701],
  [1014, 1042],
  [1015, 1043],
  [1182, 1082],
  [1183, 1083],
  [1115, 1114],
  [1185, 1184],
  [1187, 1186],
  [1231, 1700],
  [2951, 2950],
  [3221, 3220],
  [3807, 3802]
]);

export const postgresTimeOptions = Object.freeze({
  subSecondPrecision: TimeValuePrecision.microseconds,
  defaultSubSecondPrecision: TimeValuePrecision.microseconds
});

const TIMESTAMP_TEXT = /^([\d-]+) ([\d:]+)(\.\d+)?([+-][\d:]+)?$/;

/** `+05` / `+05:30` / `+05:30:15` → an offset JS Date understands. */
function isoOffset(zone: string): string {
  const [h, m = '00', s] = zone.slice(1).split(':');
  if (s && s !== '00') return 'INVALID';
  return `${zone[0]}${h!.padStart(2, '0')}:${m}`;
}

/** `YYYY-MM-DD HH:MM:SS[.f…]+00`: the common UTC form, already in the shape the service produces. */
const UTC_TIMESTAMPTZ_TEXT = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?\+00$/;

export function timestamptzToSqlite(text: string): DateTimeValue | null {
  // Fast path: a UTC value with a 4-digit year needs no Date round trip (toISOString would give back
  // the same date and time).
  const utc = UTC_TIMESTAMPTZ_TEXT.exec(text);
  if (utc) {
    const [, date, time, fraction = ''] = utc;
    return new DateTimeValue(
      `${date}T${time}${fraction}Z`,
      `${date} ${time}${fraction}Z`,
      postgresTimeOptions
    );
  }
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) {
    if (text === 'infinity') return new DateTimeValue('9999-12-31T23:59:59Z', undefined, postgresTimeOptions);
    if (text === '-infinity')
      return new DateTimeValue('0000-01-01T00:00:00Z', undefined, postgresTimeOptions);
    return null;
  }
  const [, date, time, fraction = '', zone = '+00'] = match;
  const parsed = new Date(`${date}T${time}${isoOffset(zone)}`);
  // Dates outside JS's range (e.g. year 10022) become null, as in the service.
  if (Number.isNaN(parsed.getTime())) return null;
  const base = parsed.toISOString().replace('.000', '').replace('Z', '');
  return new DateTimeValue(
    `${base}${fraction}Z`,
    `${base.replace('T', ' ')}${fraction}Z`,
    postgresTimeOptions
  );
}

export function timestampToSqlite(text: string): DateTimeValue | null {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) {
    if (text === 'infinity') return new DateTimeValue('9999-12-31T23:59:59', undefined, postgresTimeOptions);
    if (text === '-infinity') return new DateTimeValue('0000-01-01T00:00:00', undefined, postgresTimeOptions);
    return null;
  }
  const [, date, time, fraction] = match;
  return new DateTimeValue(
    `${date}T${time}${fraction?.padEnd(7, '0') ?? '.000000'}`,
    text,
    postgresTimeOptions
  );
}

function dateToSqlite(text: string): string {
  if (text === 'infinity') return '9999-12-31';
  if (text === '-infinity') return '0000-01-01';
  return text;
}

function lsnComparable(text: string): string {
  const [h = '', l = ''] = text.split('/');
  return `${h.padStart(8, '0')}/${l.padStart(8, '0')}`;
}

function decodeBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x')) throw new Error('only hex-format bytea is supported (bytea_output = hex)');
  return Uint8Array.from(Buffer.from(text.slice(2), 'hex'));
}

/** Decodes one Postgres text value by its type OID (a domain passes its base type's OID). */
export function decodePgValue(text: string | null, typeOid: number): DatabaseInputValue {
  if (text === null) return null;
  switch (typeOid) {
    case PgOid.TEXT:
    case PgOid.UUID:
    case PgOid.VARCHAR:
      return text;
    case PgOid.BOOL:
      return text === 't';
    case PgOid.BYTEA:
      return decodeBytea(text);
    case PgOid.INT2:
    case PgOid.INT4:
    case PgOid.OID:
    case PgOid.INT8:
      return BigInt(text);
    case PgOid.FLOAT4:
    case PgOid.FLOAT8:
      return Number(text);
    case PgOid.DATE:
      return dateToSqlite(text);
    case PgOid.TIMESTAMP:
      return timestampToSqlite(text);
    case PgOid.TIMESTAMPTZ:
      return timestamptzToSqlite(text);
    case PgOid.TIME:
      return TimeValue.parse(text, postgresTimeOptions);
    case PgOid.JSON:
    case PgOid.JSONB:
      return new JsonContainer(text);
    case PgOid.PG_LSN:
      return lsnComparable(text);
  }
  const elementOid = ARRAY_ELEMENT_OID.get(typeOid);
  if (elementOid !== undefined) {
    const decodeItems = (items: unknown[]): DatabaseInputValue[] =>
      items.map((item) =>
        Array.isArray(item) ? decodeItems(item) : decodePgValue(item as string | null, elementOid)
      );
    return decodeItems(parsePgArrayLiteral(text));
  }
  return text;
}

export interface PgColumn {
  name: string;
  typeOid: number;
}

/** A source row (text values keyed by column) → the input row the sync rules evaluate. */
export function pgRowToSyncRulesRow(
  columns: readonly PgColumn[],
  values: Record<string, string | null>
): SqliteInputRow {
  const decoded: DatabaseInputRow = {};
  for (const column of columns) {
    const raw = values[column.name];
    if (raw === undefined) continue;
    decoded[column.name] = decodePgValue(raw, column.typeOid);
  }
  return toSyncRulesRow(decoded);
}
