import { JSONBig } from '@powersync/service-jsonbig';
import { putChecksum } from '@syncscope/core/checksums/op-checksum';
import { describe, expect, it } from 'vitest';
import { rowChecksum, rowJson } from './fast-encoding.ts';

const STRINGS = [
  '',
  'plain',
  'quote " and \\ backslash',
  'line\nbreak\ttab\r',
  '\u0000\u0001\u001f',
  'é ü 中文 😀',
  '\ud800 lone',
  '</script>',
  '\u2028\u2029'
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  -2.25,
  0.1 + 0.2,
  1e21,
  1e-7,
  123456789.125,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  5e-324
];
const BIGINTS = [0n, -5n, 42n, 2n ** 63n - 1n, -(2n ** 63n)];

describe('fast row encoding equals the reference', () => {
  it('rowJson equals JSONBig.stringify for every scalar kind, and for keys that need escaping', () => {
    const values: unknown[] = [...STRINGS, ...NUMBERS, ...BIGINTS, null, true, false];
    for (const value of values) {
      for (const key of ['id', 'with "quote"', 'ключ', '']) {
        const row = { id: 'r1', [key]: value, after: 1n } as unknown as Record<string, never>;
        expect(rowJson(row), `${key}=${String(value)}`).toBe(JSONBig.stringify(row));
      }
    }
    expect(rowJson({})).toBe(JSONBig.stringify({}));
    expect(rowJson({ a: undefined, b: 'x' } as never)).toBe(JSONBig.stringify({ a: undefined, b: 'x' }));
  });

  it('rowJson falls back to JSONBig for anything structured', () => {
    const row = { id: 'x', nested: { a: [1, 2n] }, list: [1.5, 'a'] } as never;
    expect(rowJson(row)).toBe(JSONBig.stringify(row));
  });

  it('rowJson equals JSONBig.stringify on random rows', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(a: T[]) => a[Math.floor(random() * a.length)]!;
    for (let i = 0; i < 2000; i++) {
      const row: Record<string, unknown> = {};
      for (let c = 0; c < 1 + Math.floor(random() * 8); c++) {
        const kind = Math.floor(random() * 5);
        row[`c${c}`] =
          kind === 0
            ? pick(STRINGS) + String.fromCharCode(Math.floor(random() * 0xffff))
            : kind === 1
              ? (random() - 0.5) * 10 ** Math.floor(random() * 30)
              : kind === 2
                ? BigInt(Math.floor((random() - 0.5) * 1e15))
                : kind === 3
                  ? null
                  : Math.floor(random() * 1000);
      }
      expect(rowJson(row as never)).toBe(JSONBig.stringify(row));
    }
  });

  it('rowChecksum equals putChecksum', () => {
    for (const s of [...STRINGS, '{"id":"rec-1"}', 'x'.repeat(10_000)]) {
      expect(rowChecksum('records', `id ${s}`, s)).toBe(putChecksum('records', `id ${s}`, s));
      expect(rowChecksum(s, 'rec-1', '{}')).toBe(putChecksum(s, 'rec-1', '{}'));
    }
    expect(
      rowChecksum(
        'records',
        'rec-1',
        '{"id":"rec-1","workspace_id":"ws-1","title":"Record 1","amount":"12.345","category_id":"cat-1-2","created_at":"2026-01-01 11:00:00Z"}'
      )
    ).toBe(2278222453);
  });
});
