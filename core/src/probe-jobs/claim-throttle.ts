/**
 * How many probes of one target this agent runs at once: it claims less when the target's sync service
 * or source Postgres is struggling, so a sweep does not make an incident worse.
 *
 * The policy (additive increase, multiplicative decrease, as TCP's congestion window), per target, from
 * the agent's own finished probes of it:
 * - window: the last WINDOW results (duration, inconclusive or not). Nothing changes before MIN_RESULTS.
 * - baseline: the lowest window median duration seen (the target when it was healthiest).
 * - struggling: a third or more of the window inconclusive, or its median duration at least twice the
 *   baseline. Then the allowance halves (at least 1, so the agent keeps probing and sees recovery).
 * - healthy otherwise: the allowance grows by 1, up to the agent's capacity.
 * - a change waits for STEP_RESULTS results since the last one, so one bad window halves once, not at
 *   every result within it.
 */
export interface ThrottleState {
  allowance: number;
  recent: { durationMs: number; inconclusive: boolean }[];
  baselineMs: number | null;
  sinceChange: number;
}

export const THROTTLE = {
  WINDOW: 10,
  MIN_RESULTS: 5,
  STEP_RESULTS: 5,
  INCONCLUSIVE_SHARE: 1 / 3,
  SLOW_FACTOR: 2
};

export function initialThrottle(capacity: number): ThrottleState {
  return { allowance: capacity, recent: [], baselineMs: null, sinceChange: 0 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The state after one more finished probe of the target. */
export function nextThrottle(
  state: ThrottleState,
  result: { durationMs: number; inconclusive: boolean },
  capacity: number
): ThrottleState {
  const recent = [...state.recent, result].slice(-THROTTLE.WINDOW);
  const sinceChange = state.sinceChange + 1;
  if (recent.length < THROTTLE.MIN_RESULTS) return { ...state, recent, sinceChange };
  const medianMs = median(recent.map((r) => r.durationMs));
  const baselineMs = Math.min(state.baselineMs ?? medianMs, medianMs);
  const inconclusiveShare = recent.filter((r) => r.inconclusive).length / recent.length;
  const struggling =
    inconclusiveShare >= THROTTLE.INCONCLUSIVE_SHARE || medianMs >= THROTTLE.SLOW_FACTOR * baselineMs;
  const kept = { ...state, recent, baselineMs, sinceChange };
  if (sinceChange < THROTTLE.STEP_RESULTS) return kept;
  const allowance = struggling
    ? Math.max(1, Math.floor(state.allowance / 2))
    : Math.min(capacity, state.allowance + 1);
  return allowance === state.allowance ? kept : { ...kept, allowance, sinceChange: 0 };
}

/** The agent's throttles of all targets, and its running probes per target. */
export class ClaimThrottle {
  private readonly states = new Map<string, ThrottleState>();
  private readonly running = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  allowance(target: string): number {
    return this.states.get(target)?.allowance ?? this.capacity;
  }

  /** Targets this agent claims no more of now: it runs as many of their probes as it allows itself. */
  paused(): string[] {
    return [...this.running].filter(([target, n]) => n >= this.allowance(target)).map(([target]) => target);
  }

  started(target: string): void {
    this.running.set(target, (this.running.get(target) ?? 0) + 1);
  }

  /** A probe ended: with its result (null when it stored none: a lost lease says nothing of the target). */
  finished(target: string, result: { durationMs: number; inconclusive: boolean } | null): void {
    this.running.set(target, Math.max(0, (this.running.get(target) ?? 1) - 1));
    if (!result) return;
    const state = this.states.get(target) ?? initialThrottle(this.capacity);
    this.states.set(target, nextThrottle(state, result, this.capacity));
  }
}
