import { describe, expect, it } from 'vitest';
import {
  JOB_STATUSES,
  type JobEvent,
  type JobStatus,
  type JobTransition,
  jobTransition,
  type RetryPolicy,
  retryDelayMs
} from './job-state-machine.ts';

const policy: RetryPolicy = { baseMs: 1_000, capMs: 8_000, jitter: 0 };
const EVENTS: Record<string, JobEvent> = {
  claim: { kind: 'claim' },
  heartbeat: { kind: 'heartbeat', holdsLease: true },
  'heartbeat, stale owner': { kind: 'heartbeat', holdsLease: false },
  'lease-expired': { kind: 'lease-expired' },
  deadline: { kind: 'deadline' },
  'result consistent': { kind: 'result', verdict: 'consistent', holdsLease: true },
  'result mismatch': { kind: 'result', verdict: 'mismatch', holdsLease: true },
  'result inconclusive': { kind: 'result', verdict: 'inconclusive', holdsLease: true },
  'result error': { kind: 'result', verdict: 'error', holdsLease: true },
  'stale-store': { kind: 'result', verdict: 'consistent', holdsLease: false }
};

const R = (to: JobStatus): JobTransition => ({ to, effect: 'refused' });
const retry = { to: 'retry_wait', effect: 'store-and-retry', retryAfterMs: 1_000 } as const;
const final = { to: 'done', effect: 'store-final' } as const;

/** Every state × event, with attempts left (attempt 1 of 3) and with none (attempt 3 of 3). */
const TABLE: Record<JobStatus, Record<string, [left: JobTransition, none: JobTransition]>> = {
  queued: {
    claim: [
      { to: 'running', effect: 'claim' },
      { to: 'running', effect: 'claim' }
    ],
    heartbeat: [R('queued'), R('queued')],
    'heartbeat, stale owner': [R('queued'), R('queued')],
    'lease-expired': [R('queued'), R('queued')],
    deadline: [R('queued'), R('queued')],
    'result consistent': [R('queued'), R('queued')],
    'result mismatch': [R('queued'), R('queued')],
    'result inconclusive': [R('queued'), R('queued')],
    'result error': [R('queued'), R('queued')],
    'stale-store': [R('queued'), R('queued')]
  },
  running: {
    claim: [R('running'), R('running')],
    heartbeat: [
      { to: 'running', effect: 'extend-lease' },
      { to: 'running', effect: 'extend-lease' }
    ],
    'heartbeat, stale owner': [R('running'), R('running')],
    'lease-expired': [
      { to: 'queued', effect: 'reclaim' },
      { to: 'failed', effect: 'reclaim' }
    ],
    deadline: [
      { to: 'retry_wait', effect: 'reclaim', retryAfterMs: 1_000 },
      { to: 'failed', effect: 'reclaim' }
    ],
    'result consistent': [final, final],
    'result mismatch': [final, final],
    'result inconclusive': [retry, final],
    'result error': [final, final],
    'stale-store': [R('running'), R('running')]
  },
  retry_wait: {
    claim: [
      { to: 'running', effect: 'claim' },
      { to: 'running', effect: 'claim' }
    ],
    heartbeat: [R('retry_wait'), R('retry_wait')],
    'heartbeat, stale owner': [R('retry_wait'), R('retry_wait')],
    'lease-expired': [R('retry_wait'), R('retry_wait')],
    deadline: [R('retry_wait'), R('retry_wait')],
    'result consistent': [R('retry_wait'), R('retry_wait')],
    'result mismatch': [R('retry_wait'), R('retry_wait')],
    'result inconclusive': [R('retry_wait'), R('retry_wait')],
    'result error': [R('retry_wait'), R('retry_wait')],
    'stale-store': [R('retry_wait'), R('retry_wait')]
  },
  done: Object.fromEntries(Object.keys(EVENTS).map((e) => [e, [R('done'), R('done')]])),
  failed: Object.fromEntries(Object.keys(EVENTS).map((e) => [e, [R('failed'), R('failed')]]))
};

describe('the probe job state machine', () => {
  const cases = JOB_STATUSES.flatMap((status) =>
    Object.keys(EVENTS).flatMap((event) =>
      (['attempts left', 'no attempts left'] as const).map((attempts, i) => ({
        status,
        event,
        attempts,
        expected: TABLE[status][event]![i]!
      }))
    )
  );

  it('covers every state × event', () => {
    expect(cases).toHaveLength(JOB_STATUSES.length * Object.keys(EVENTS).length * 2);
  });

  it.each(cases)(
    '$status + $event ($attempts) → $expected.to ($expected.effect)',
    ({ status, event, attempts, expected }) => {
      const context = { attempts: attempts === 'attempts left' ? 1 : 3, maxAttempts: 3, policy, random: 0 };
      expect(jobTransition(status, EVENTS[event]!, context)).toEqual(expected);
    }
  );
});

describe('retry backoff', () => {
  it('doubles from the base per attempt up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(policy, n, 0))).toEqual([
      1_000, 2_000, 4_000, 8_000, 8_000, 8_000
    ]);
  });

  it('jitter scales a wait down by at most its fraction, never up', () => {
    const jittered = { ...policy, jitter: 0.5 };
    expect(retryDelayMs(jittered, 3, 0)).toBe(4_000);
    expect(retryDelayMs(jittered, 3, 0.999_999)).toBe(2_000);
    expect(retryDelayMs(jittered, 3, 0.5)).toBe(3_000);
  });
});
