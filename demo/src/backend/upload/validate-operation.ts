import { z } from 'zod';
import type { OperationFailure, ValidOperation } from './upload-request.ts';

/** Largest single text value the app accepts; larger values are rejected, never truncated. */
export const MAX_TEXT_BYTES = 10_000;
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

const id = z.string().regex(ID, 'must be 1-64 letters, digits, _ . : or -');
const text = (max: number) =>
  z.string().refine((v) => Buffer.byteLength(v) <= max, { message: `must be at most ${max} bytes` });
const amount = z
  .union([z.number().finite(), z.string()])
  .transform((v) => String(v))
  .refine((v) => /^-?\d{1,9}(\.\d{1,3})?$/.test(v), {
    message: 'must be a number with at most 9 digits before and 3 after the point'
  });
const timestamp = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO 8601 timestamp' });
const int4 = z.number().int().min(-2147483648).max(2147483647);

/** Per table: the columns a client may write, their types, and which a PUT must carry. */
const TABLES = {
  records: {
    columns: {
      workspace_id: id,
      title: text(MAX_TEXT_BYTES).refine((v) => v.trim() !== '', { message: 'must not be empty' }),
      amount: amount.nullable(),
      category_id: id.nullable(),
      created_at: timestamp,
      updated_at: timestamp.nullable()
    },
    required: ['workspace_id', 'title']
  },
  categories: {
    columns: {
      workspace_id: id,
      name: text(1_000).refine((v) => v.trim() !== '', { message: 'must not be empty' }),
      usage_count: int4
    },
    required: ['workspace_id', 'name']
  }
} as const;

type Table = keyof typeof TABLES;

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
  if (typeof raw.table !== 'string' || !(raw.table in TABLES)) {
    return rejection(
      index,
      raw,
      'DEMO_E_UNKNOWN_TABLE',
      `table must be one of ${Object.keys(TABLES).join(', ')}`
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
  const table = raw.table as Table;
  const spec = TABLES[table];
  if (raw.op === 'DELETE') return { index, op: 'DELETE', table, id: raw.id, values: {} };

  const data = raw.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return rejection(index, raw, 'DEMO_E_MISSING_DATA', `${raw.op} needs a data object`);
  }
  const values: Record<string, string | number | null> = {};
  for (const [column, value] of Object.entries(data as Record<string, unknown>)) {
    if (column === 'id') continue;
    const schema = (spec.columns as Record<string, z.ZodType>)[column];
    if (!schema) {
      return rejection(
        index,
        raw,
        'DEMO_E_UNKNOWN_COLUMN',
        `${table} has no writable column ${JSON.stringify(column.slice(0, 64))}`
      );
    }
    if (typeof value === 'string' && Buffer.byteLength(value) > MAX_TEXT_BYTES * 10) {
      return rejection(
        index,
        raw,
        'DEMO_E_FIELD_TOO_LARGE',
        `${column} is ${Buffer.byteLength(value)} bytes; the limit is ${MAX_TEXT_BYTES}`
      );
    }
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
  if (Object.keys(values).length === 0)
    return rejection(index, raw, 'DEMO_E_MISSING_DATA', 'PATCH changes no column');
  return { index, op: raw.op, table, id: raw.id, values };
}
