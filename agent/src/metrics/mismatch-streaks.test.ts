import { describe, expect, it } from 'vitest';
import { MismatchStreaks } from './mismatch-streaks.ts';

describe('mismatch streaks', () => {
  it('keep at most maxUsers per target, forgetting the user whose streak moved least recently', () => {
    const streaks = new MismatchStreaks(2);
    for (let i = 0; i < 3; i++) streaks.record('t', 'old', 'mismatch');
    streaks.record('t', 'a', 'mismatch');
    expect(streaks.longest('t')).toBe(3);
    // A third user pushes out `old`, whose last mismatch is the oldest news.
    expect(streaks.record('t', 'b', 'mismatch')).toBe(1);
    expect(streaks.record('t', 'old', 'mismatch')).toBe(1);
    // Targets are counted apart.
    expect(streaks.record('other', 'a', 'mismatch')).toBe(1);
    expect(streaks.longest('t')).toBe(1);
  });
});
