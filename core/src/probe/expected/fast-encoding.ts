/**
 * Per-row hot paths of the expected state, byte-for-byte equal to the reference implementations
 * (JSONBig.stringify of a row, putChecksum) and several times faster on the flat rows the sync rules
 * produce. Anything not flat falls back to the reference. fast-encoding.test.ts checks the equality.
 */
import * as crypto from 'node:crypto';
import { JSONBig } from '@powersync/service-jsonbig';
import type { SqliteJsonRow } from '@powersync/service-sync-rules';
import { putChecksum } from '../../checksums/op-checksum.ts';

const quotedKeys = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, quoted);
  }
  return quoted;
}

const INTEGER_TEXT = /^-?[0-9]+$/;

/**
 * `JSONBig.stringify(row)` for a row of JSON scalars: strings as JSON, bigints as digits, numbers as
 * their JS text with `.0` added when it looks like an integer (JSONBig keeps REAL distinct from INTEGER).
 */
export function rowJson(row: SqliteJsonRow): string {
  let out = '{';
  let first = true;
  for (const key of Object.keys(row)) {
    const value: unknown = row[key];
    let text: string;
    switch (typeof value) {
      case 'string':
        text = JSON.stringify(value);
        break;
      case 'bigint':
        text = value.toString();
        break;
      case 'number': {
        const t = value.toString();
        text = INTEGER_TEXT.test(t) ? `${t}.0` : t;
        break;
      }
      case 'boolean':
        text = value ? 'true' : 'false';
        break;
      case 'undefined':
      case 'function':
      case 'symbol':
        continue;
      default:
        if (value !== null) return JSONBig.stringify(row);
        text = 'null';
    }
    out += first ? `${quotedKey(key)}:${text}` : `,${quotedKey(key)}:${text}`;
    first = false;
  }
  return `${out}}`;
}

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer })
  .hash;

/** `putChecksum(table, id, json)` with Node's one-shot hash when available. */
export function rowChecksum(table: string, id: string, json: string): number {
  if (!oneShotHash) return putChecksum(table, id, json);
  return oneShotHash('sha256', `put.${table}.${id}.${json}`, 'buffer').readUInt32LE(0);
}
