import { describe, expect, it } from 'vitest';
import { timestamptzToSqlite } from './pg-values.ts';

const forms = (v: ReturnType<typeof timestamptzToSqlite>) =>
  v && [v.iso8601Representation, v.legacyRepresentation];

describe('timestamptz text → sync-rules value', () => {
  // The UTC form skips the Date round trip; the same instant written with another offset takes the full
  // path. Both must give the service's exact representations.
  it.each([
    ['2026-01-01 00:00:01+00', '2026-01-01 01:00:01+01'],
    ['2026-01-01 00:00:01.5+00', '2025-12-31 19:00:01.5-05'],
    ['2024-02-29 23:59:59.123456+00', '2024-03-01 05:29:59.123456+05:30'],
    ['0099-06-30 12:00:00+00', '0099-06-30 14:00:00+02'],
    ['9999-12-31 23:59:59.999999+00', '9999-12-31 22:59:59.999999-01']
  ])('%s (fast path) equals %s (full path)', (utc, offset) => {
    const fast = forms(timestamptzToSqlite(utc));
    expect(fast).toEqual(forms(timestamptzToSqlite(offset)));
    expect(fast?.[0]).toBe(`${utc.slice(0, -3).replace(' ', 'T')}Z`);
  });

  it('keeps the full path for values the fast path does not take', () => {
    expect(forms(timestamptzToSqlite('10022-01-01 00:00:00+00'))).toBeNull();
    expect(forms(timestamptzToSqlite('infinity'))?.[0]).toBe('9999-12-31T23:59:59Z');
  });
});
