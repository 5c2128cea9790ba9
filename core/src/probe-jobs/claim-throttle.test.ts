import { describe, expect, it } from 'vitest';
import { ClaimThrottle, initialThrottle, nextThrottle, type ThrottleState } from './claim-throttle.ts';

const fast = { durationMs: 1_000, inconclusive: false };
const slow = { durationMs: 2_500, inconclusive: false };
const inconclusive = { durationMs: 1_000, inconclusive: true };
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

function after(results: { durationMs: number; inconclusive: boolean }[], start: ThrottleState, capacity = 8) {
  return results.reduce((state, result) => nextThrottle(state, result, capacity), start);
}

const at = (allowance: number, capacity = 8): ThrottleState => ({
  ...after(times(10, fast), initialThrottle(capacity), capacity),
  allowance,
  sinceChange: 0
});

describe('claim throttle policy', () => {
  const cases: [string, ThrottleState, { durationMs: number; inconclusive: boolean }[], number][] = [
    ['no change before five results', initialThrottle(8), times(4, inconclusive), 8],
    ['healthy at capacity stays at capacity', initialThrottle(8), times(10, fast), 8],
    ['durations doubling (median of the window) halve the allowance', at(8), times(6, slow), 4],
    ['four in ten inconclusive halve the allowance', at(8), [fast, ...times(4, inconclusive)], 4],
    ['one bad window halves once, not at every result', at(8), times(9, slow), 4],
    ['a lasting slowdown keeps halving, down to 1', at(8), times(40, slow), 1],
    ['never below 1, so recovery is seen', at(1), times(10, inconclusive), 1],
    ['recovery adds one per five healthy results', at(2), times(10, fast), 4],
    ['recovery stops at capacity', at(7), times(30, fast), 8],
    [
      'slightly slower (1.5x) is not struggling',
      at(4),
      times(10, { durationMs: 1_500, inconclusive: false }),
      6
    ],
    ['one inconclusive in ten is not struggling', at(4), [inconclusive, ...times(9, fast)], 6]
  ];
  it.each(cases)('%s', (_what, start, results, allowance) => {
    expect(after(results, start).allowance).toBe(allowance);
  });

  it('pauses a target once this agent runs as many of its probes as the allowance', () => {
    const throttle = new ClaimThrottle(2);
    throttle.started('a');
    expect(throttle.paused()).toEqual([]);
    throttle.started('a');
    expect(throttle.paused()).toEqual(['a']);
    for (let i = 0; i < 10; i++) {
      throttle.started('b');
      throttle.finished('b', i < 5 ? fast : inconclusive);
    }
    expect(throttle.allowance('b')).toBe(1);
    throttle.started('b');
    expect(throttle.paused().sort()).toEqual(['a', 'b']);
    throttle.finished('a', null);
    expect(throttle.paused()).toEqual(['b']);
  });
});
