import { z } from 'zod';
import type { OperationFailure, ValidOperation } from './upload-request.ts';

/** Largest single text value the app accepts; larger values are rejected, never truncated. */
export const MAX_TEXT_BYTES = 10_000;
// Stricter than "no control characters": ids end up in URLs, logs and bucket names, so only a plain
// alphabet passes (UUIDs, the seed's ids, slugs).
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
// A decimal the way JSON numbers and PowerSync's text columns spell it (exponents included).
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
// ISO 8601 date-time, with T or a space (SQLite's and PowerSync's format), optional zone.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)? ?(Z|z|[+-]\d{2}(:?\d{2})?)?$/;
// numeric(12,3): 9 integer digits; Postgres rounds to 3 decimals, which must not reach 1e9.
const AMOUNT_LIMIT = 999_999_999.9995;

const id = z.string().regex(ID, 'must be 1-64 letters, digits, _ . : or -');
const text = (maxBytes: number) =>
  z
    .string()
    .refine((v) => Buffer.byteLength(v) <= maxBytes, { message: `must be at most ${maxBytes} bytes` })
    // Postgres text cannot hold NUL: refuse it here, with a message, rather than as a driver error.
    .refine((v) => !v.includes('\u0000'), { message: 'must not contain NUL characters' })
    .refine((v) => v.trim() !== '', { message: 'must not be empty' });
// Numbers with float noise (0.1 + 0.2) are accepted and rounded by Postgres like any numeric(12,3)
// input; refusing them would drop a user's edit for good over a representation detail.
const amount = z
  .union([z.number().finite(), z.string().max(64)])
  .transform((v) => String(v))
  .refine((v) => DECIMAL.test(v) && Math.abs(Number(v)) < AMOUNT_LIMIT, {
    message: 'must be a decimal number below 1e9 (numeric(12,3))'
  });
const timestamp = z
  .string()
  .refine((v) => TIMESTAMP.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T'))), {
    message: 'must be an ISO 8601 timestamp (zone-less times are read as UTC)'
  });
const int4 = z.number().int().min(-2147483648).max(2147483647);

interface TableSpec {
  /** Writable columns and their types. Anything else in `data` is refused. */
  columns: Record<string, z.ZodType>;
  /** Columns a PUT must carry. */
  required: readonly string[];
  /** NOT NULL columns with a database default: a PUT without them keeps the current value. */
  defaulted: readonly string[];
}

/** Per table: the columns a client may write, their types, and which a PUT must carry. */
export const UPLOAD_TABLES: Record<ValidOperation['table'], TableSpec> = {
  records: {
    columns: {
      workspace_id: id,
      title: text(MAX_TEXT_BYTES),
      amount: amount.nullable(),
      category_id: id.nullable(),
      created_at: timestamp,
      updated_at: timestamp.nullable()
    },
    required: ['workspace_id', 'title'],
    defaulted: ['created_at']
  },
  categories: {
    columns: { workspace_id: id, name: text(1_000), usage_count: int4 },
    required: ['workspace_id', 'name'],
    defaulted: ['usage_count']
  }
};

// Own properties only: `'constructor' in {}` is true, and such a name must never reach SQL.
const isTable = (name: unknown): name is ValidOperation['table'] =>
  typeof name === 'string' && Object.hasOwn(UPLOAD_TABLES, name);

const rejection = (
  index: number,
  raw: Record<string, unknown>,
  code: string,
  detail: string
): OperationFailure => ({
  index,
  table: typeof raw.table === 'string' ? raw.table.slice(0, 100) : null,
  id: typeof raw.id === 'string' ? raw.id.slice(0, 100) : null,
  op: typeof raw.op === 'string' ? raw.op.slice(0, 10) : null,
  ok: false,
  retryable: false,
  code,
  detail
});

/**
 * Checks one operation against the app's rules: known table, a safe id, allow-listed columns with the
 * right types and sizes, required fields on PUT. Failures here are final (retrying cannot help).
 * A PUT on a defaulted column with null means "use the default", as for a column left out.
 */
export function validateOperation(index: number, input: unknown): ValidOperation | OperationFailure {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    return rejection(
      index,
      {},
      'DEMO_E_MALFORMED_OPERATION',
      'each operation must be an object {op, table, id, data}'
    );
  }
  const raw = input as Record<string, unknown>;
  if (raw.op !== 'PUT' && raw.op !== 'PATCH' && raw.op !== 'DELETE') {
    return rejection(index, raw, 'DEMO_E_INVALID_OP', 'op must be PUT, PATCH or DELETE');
  }
  if (!isTable(raw.table)) {
    return rejection(
      index,
      raw,
      'DEMO_E_UNKNOWN_TABLE',
      `table must be one of ${Object.keys(UPLOAD_TABLES).join(', ')}`
    );
  }
  if (typeof raw.id !== 'string' || !ID.test(raw.id)) {
    return rejection(
      index,
      raw,
      'DEMO_E_INVALID_ID',
      'id must be a string of 1-64 letters, digits, _ . : or -'
    );
  }
  const table = raw.table;
  const spec = UPLOAD_TABLES[table];
  if (raw.op === 'DELETE') return { index, op: 'DELETE', table, id: raw.id, values: {} };

  const data = raw.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return rejection(index, raw, 'DEMO_E_MISSING_DATA', `${raw.op} needs a data object`);
  }
  const values: Record<string, string | number | null> = {};
  for (const [column, value] of Object.entries(data as Record<string, unknown>)) {
    if (column === 'id') {
      // The id is the operation's; a different one in data would be ambiguous.
      if (value !== raw.id) return rejection(index, raw, 'DEMO_E_INVALID_ID', 'data.id differs from id');
      continue;
    }
    const schema = Object.hasOwn(spec.columns, column) ? spec.columns[column] : undefined;
    if (!schema) {
      return rejection(
        index,
        raw,
        'DEMO_E_UNKNOWN_COLUMN',
        `${table} has no writable column ${JSON.stringify(column.slice(0, 64))}`
      );
    }
    // Checked before the schema so a multi-megabyte value is measured once and never copied around.
    if (typeof value === 'string' && value.length > MAX_TEXT_BYTES) {
      const bytes = Buffer.byteLength(value);
      if (bytes > MAX_TEXT_BYTES) {
        return rejection(
          index,
          raw,
          'DEMO_E_FIELD_TOO_LARGE',
          `${column} is ${bytes} bytes; the limit is ${MAX_TEXT_BYTES}`
        );
      }
    }
    if (raw.op === 'PUT' && value === null && spec.defaulted.includes(column)) continue;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const tooLarge = parsed.error.issues.some((i) => i.message.includes('bytes'));
      return rejection(
        index,
        raw,
        tooLarge ? 'DEMO_E_FIELD_TOO_LARGE' : 'DEMO_E_INVALID_VALUE',
        `${column} ${parsed.error.issues[0]?.message}`
      );
    }
    values[column] = parsed.data as string | number | null;
  }
  if (raw.op === 'PUT') {
    const missing = spec.required.filter((c) => values[c] === undefined || values[c] === null);
    if (missing.length > 0)
      return rejection(index, raw, 'DEMO_E_MISSING_FIELD', `PUT of ${table} needs ${missing.join(', ')}`);
  }
  if (raw.op === 'PATCH' && Object.keys(values).length === 0)
    return rejection(index, raw, 'DEMO_E_MISSING_DATA', 'PATCH changes no column');
  return { index, op: raw.op, table, id: raw.id, values };
}
