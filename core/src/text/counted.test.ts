import { describe, expect, it } from 'vitest';
import { counted } from './counted.ts';

describe('counted', () => {
  it.each([
    [0, '0 rows'],
    [1, '1 row'],
    [2, '2 rows'],
    [1024, '1,024 rows']
  ])('%i → %s', (n, text) => {
    expect(counted(n, 'row')).toBe(text);
  });
  it('takes an irregular plural', () => {
    expect(counted(3, 'entry', 'entries')).toBe('3 entries');
  });
});
