/**
 * A probe job's life, as one table. The queue's SQL (probe-jobs.ts) asks `jobTransition` what to do, so
 * the rules live here once and the table test covers every state × event.
 *
 *   queued ──claim──▶ running ──result consistent | mismatch | error──▶ done (final run)
 *     ▲                 │  ├──result inconclusive, attempts left──▶ retry_wait ──claim (when due)──▶ running
 *     │                 │  ├──result inconclusive, none left─────▶ done (final inconclusive run)
 *     │                 │  ├──deadline passed, attempts left─────▶ retry_wait (after backoff)
 *     └─lease expired, attempts left (its agent died: at once)─┤
 *                       └──lease expired or deadline, none left──▶ failed (no run: nobody finished it)
 *
 * - claim: a new owner and lease epoch, attempts + 1. Only queued jobs and retry_wait jobs that are due
 *   are offered (FOR UPDATE SKIP LOCKED: one claimer per job).
 * - heartbeat and result: accepted only from the owner under the current epoch while running (the lease
 *   is held); from anyone else (a stale owner whose job was reclaimed) they are refused and change
 *   nothing: its run is not stored.
 * - lease-expired (no heartbeat within the lease) and deadline (the attempt overran, even if its agent
 *   still beats): any agent reclaims the job; the old owner learns it at its next heartbeat and aborts.
 * - mismatch is never retried away: it is final at once, as are consistent and error.
 */
import type { ProbeVerdict } from '../probe/verdicts.ts';

export const JOB_STATUSES = ['queued', 'running', 'retry_wait', 'done', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export type JobEvent =
  | { kind: 'claim' }
  | { kind: 'heartbeat'; holdsLease: boolean }
  | { kind: 'lease-expired' }
  | { kind: 'deadline' }
  | { kind: 'result'; verdict: ProbeVerdict; holdsLease: boolean };

export const JOB_EVENT_KINDS = ['claim', 'heartbeat', 'lease-expired', 'deadline', 'result'] as const;

/** What the queue does: the next status, whether a run is stored (and if it is the job's final one). */
export interface JobTransition {
  to: JobStatus;
  /** refused: the event changes nothing (not this state's event, or the sender lost its lease). */
  effect: 'claim' | 'extend-lease' | 'store-final' | 'store-and-retry' | 'reclaim' | 'refused';
  /** For retry_wait: wait this long before the next attempt may be claimed (0: claimable at once). */
  retryAfterMs?: number;
}

export interface RetryPolicy {
  /** The first retry's wait; each further retry doubles it, up to capMs. */
  baseMs: number;
  capMs: number;
  /** Each wait is scaled by a random factor in [1 - jitter, 1], so retries of many jobs spread out. */
  jitter: number;
}

export const RETRY_DEFAULTS: RetryPolicy = { baseMs: 5_000, capMs: 300_000, jitter: 0.5 };

/** The wait before attempt `attempts + 1`, after `attempts` attempts (≥ 1). `random` is in [0, 1). */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random = Math.random()): number {
  const exponential = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exponential * (1 - policy.jitter * random));
}

export interface JobContext {
  attempts: number;
  maxAttempts: number;
  policy: RetryPolicy;
  random?: number;
}

const refused = (to: JobStatus): JobTransition => ({ to, effect: 'refused' });

export function jobTransition(status: JobStatus, event: JobEvent, context: JobContext): JobTransition {
  const attemptsLeft = context.attempts < context.maxAttempts;
  const backoff = () => retryDelayMs(context.policy, context.attempts, context.random);
  switch (event.kind) {
    case 'claim':
      return status === 'queued' || status === 'retry_wait'
        ? { to: 'running', effect: 'claim' }
        : refused(status);
    case 'heartbeat':
      return status === 'running' && event.holdsLease
        ? { to: 'running', effect: 'extend-lease' }
        : refused(status);
    case 'result':
      if (status !== 'running' || !event.holdsLease) return refused(status);
      if (event.verdict === 'inconclusive' && attemptsLeft)
        return { to: 'retry_wait', effect: 'store-and-retry', retryAfterMs: backoff() };
      return { to: 'done', effect: 'store-final' };
    case 'lease-expired':
      if (status !== 'running') return refused(status);
      // The agent died: nothing says the target is at fault, so another agent may start at once.
      return attemptsLeft ? { to: 'queued', effect: 'reclaim' } : { to: 'failed', effect: 'reclaim' };
    case 'deadline':
      if (status !== 'running') return refused(status);
      return attemptsLeft
        ? { to: 'retry_wait', effect: 'reclaim', retryAfterMs: backoff() }
        : { to: 'failed', effect: 'reclaim' };
  }
}
