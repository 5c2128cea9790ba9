import { describe, expect, it } from 'vitest';
import { bearerTokenMatches } from './bearer-token.ts';

describe('bearerTokenMatches', () => {
  const token = 'a-long-random-token-0123456789';
  it('accepts the token after Bearer, whatever the scheme case and spacing', () => {
    expect(bearerTokenMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerTokenMatches(`bearer  ${token}`, token)).toBe(true);
  });
  it('refuses another token, a prefix of it, another scheme and no header', () => {
    expect(bearerTokenMatches('Bearer another-token', token)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${token.slice(0, -1)}`, token)).toBe(false);
    expect(bearerTokenMatches(`Basic ${token}`, token)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${token} extra`, token)).toBe(false);
    expect(bearerTokenMatches(undefined, token)).toBe(false);
    expect(bearerTokenMatches(null, token)).toBe(false);
  });
});
