import type { ProbeVerdict } from '@syncscope/core/probe/verdicts';

/** Users tracked per target; beyond it the user whose streak moved least recently is forgotten. */
export const MAX_STREAK_USERS_PER_TARGET = 10_000;

/**
 * Consecutive mismatch verdicts per (target, user), kept in memory for the gauge
 * `syncscope_probe_consecutive_mismatches`: an alert on a persisting mismatch must not fire on one
 * flaky run, and must not be reset by an outage. So a mismatch extends the user's streak, consistent
 * ends it, and inconclusive or error (we could not tell) leave it as it is. Only users with a streak
 * are kept, at most `maxUsers` per target, so memory stays bounded however many users are probed.
 */
export class MismatchStreaks {
  readonly #byTarget = new Map<string, Map<string, number>>();

  constructor(private readonly maxUsers = MAX_STREAK_USERS_PER_TARGET) {}

  /** Applies one verdict and answers the target's longest current streak. */
  record(target: string, userId: string, verdict: ProbeVerdict): number {
    const streaks = this.#byTarget.get(target) ?? new Map<string, number>();
    this.#byTarget.set(target, streaks);
    if (verdict === 'consistent') streaks.delete(userId);
    if (verdict === 'mismatch') {
      const streak = (streaks.get(userId) ?? 0) + 1;
      // Re-inserted, so the map's first key is the user whose streak moved least recently.
      streaks.delete(userId);
      streaks.set(userId, streak);
      if (streaks.size > this.maxUsers) streaks.delete(streaks.keys().next().value as string);
    }
    return this.longest(target);
  }

  longest(target: string): number {
    let longest = 0;
    for (const streak of this.#byTarget.get(target)?.values() ?? []) longest = Math.max(longest, streak);
    return longest;
  }
}
