import { describe, expect, it } from 'vitest';
import { safeNextPath } from './safe-next.ts';

describe('the path to return to after signing in', () => {
  it('keeps same-origin paths with their query', () => {
    expect(safeNextPath('/probes?target=demo&user=u1')).toBe('/probes?target=demo&user=u1');
    expect(safeNextPath('/probes/8d0c1c9e-0000-4000-8000-000000000000')).toBe(
      '/probes/8d0c1c9e-0000-4000-8000-000000000000'
    );
  });

  it.each([
    '/\\example.org/x', // what `/login?next=/%5Cexample.org/x` arrives as
    '/%5Cexample.org/x',
    '/%5cexample.org/x',
    '//example.org/x',
    '/%2F/example.org',
    '\\example.org',
    '\\\\example.org',
    'https://example.org/',
    'javascript:alert(1)',
    '/\texample.org',
    '/\n/example.org',
    '/%0a/example.org',
    'probes',
    '',
    '/%E0%A4%A'
  ])('sends %j to / instead', (raw) => {
    expect(safeNextPath(raw)).toBe('/');
  });

  it('refuses what is not a string', () => {
    expect(safeNextPath(undefined)).toBe('/');
    expect(safeNextPath(['/a', '/b'])).toBe('/');
  });
});
