import { describe, expect, it } from 'vitest';
import {
  abortEvent,
  PROBE_EVENTS,
  PROBE_STATES,
  type ProbeEvent,
  type ProbeState,
  probeTransition
} from './probe-lifecycle.ts';
import type { ProbeMode } from './probe-mode.ts';
import { verdictOfReason } from './verdicts.ts';

/**
 * The lifecycle written out once more, as an operator reads it: for each state, what each event leads
 * to. `→ x` is the next phase; otherwise `verdict CODE` (E_ prefix dropped; `event` = the code the event
 * carries). Every state × event pair is here, so a change to the machine changes this table.
 */
const ANY = {
  deadline: 'inconclusive PROBE_DEADLINE',
  'lease-lost': 'inconclusive JOB_LEASE_LOST',
  'invalid-input': 'error event',
  bug: 'error INTERNAL_ERROR',
  'source-session-lost': 'inconclusive SOURCE_SESSION_LOST',
  'source-timeout': 'inconclusive PROBE_SOURCE_TIMEOUT',
  'initial-replication': 'inconclusive SERVICE_INITIAL_REPLICATION',
  reprocessing: 'inconclusive SERVICE_REPROCESSING',
  // Events a state cannot produce are a bug unless a state below says otherwise.
  ok: 'error INTERNAL_ERROR',
  unreachable: 'error INTERNAL_ERROR',
  'token-refused': 'error INTERNAL_ERROR',
  'bucket-limit': 'error INTERNAL_ERROR',
  'stream-unstable': 'error INTERNAL_ERROR',
  'checksum-loop': 'error INTERNAL_ERROR',
  differences: 'error INTERNAL_ERROR',
  'replication-stalled': 'error INTERNAL_ERROR',
  confirmed: 'error INTERNAL_ERROR',
  unconfirmed: 'error INTERNAL_ERROR',
  'confirmation-inconclusive': 'error INTERNAL_ERROR'
} satisfies Record<ProbeEvent, string>;

const EXPECTED: Record<ProbeState, Record<ProbeEvent, string>> = {
  'service-check': { ...ANY, ok: '→ sync' },
  sync: {
    ...ANY,
    ok: '→ diff',
    unreachable: '→ recheck-unreachable',
    'stream-unstable': '→ recheck-unstable',
    'token-refused': 'inconclusive SERVICE_REFUSED_TOKEN',
    'bucket-limit': 'inconclusive BUCKET_LIMIT',
    'checksum-loop': 'mismatch CHECKSUM_FAILURE_LOOP'
  },
  'recheck-unreachable': { ...ANY, ok: 'inconclusive SERVICE_UNREACHABLE' },
  'recheck-unstable': { ...ANY, ok: 'inconclusive STREAM_UNSTABLE' },
  diff: { ...ANY, ok: 'consistent', differences: '→ replication-check' },
  'replication-check': {
    ...ANY,
    ok: 'mismatch event',
    'replication-stalled': 'mismatch REPLICATION_STALLED'
  },
  // A full probe never confirms anything.
  confirm: { ...ANY }
};

/** A light probe: the same table, but every would-be mismatch is confirmed by a full probe first. */
const EXPECTED_LIGHT: Record<ProbeState, Record<ProbeEvent, string>> = {
  ...EXPECTED,
  sync: { ...EXPECTED.sync, 'checksum-loop': '→ confirm' },
  'replication-check': { ...ANY, ok: '→ confirm', 'replication-stalled': '→ confirm' },
  confirm: {
    ...ANY,
    confirmed: 'mismatch event',
    unconfirmed: 'consistent',
    'confirmation-inconclusive': 'inconclusive event'
  }
};

const render = (state: ProbeState, event: ProbeEvent, mode: ProbeMode = 'full'): string => {
  const t = probeTransition(state, event, mode);
  if ('next' in t) return `→ ${t.next}`;
  if (t.verdict === 'consistent') return 'consistent';
  return `${t.verdict} ${t.reason === 'event' ? 'event' : t.reason.replace('SYNCSCOPE_E_', '')}`;
};

describe('the probe lifecycle', () => {
  const pairs = PROBE_STATES.flatMap((state) => PROBE_EVENTS.map((event) => ({ state, event })));

  it.each(pairs)('$state × $event', ({ state, event }) => {
    expect(render(state, event)).toBe(EXPECTED[state][event]);
  });

  it.each(pairs)('light: $state × $event', ({ state, event }) => {
    expect(render(state, event, 'light')).toBe(EXPECTED_LIGHT[state][event]);
  });

  it('a light probe reaches mismatch only through a full probe that confirmed it', () => {
    const mismatches = pairs.filter(({ state, event }) => {
      const t = probeTransition(state, event, 'light');
      return 'verdict' in t && t.verdict === 'mismatch';
    });
    expect(mismatches.map(({ state, event }) => `${state} × ${event}`)).toEqual(['confirm × confirmed']);
  });

  it('every reason code the machine gives implies the verdict it gives', () => {
    for (const { state, event } of pairs) {
      const t = probeTransition(state, event);
      if ('verdict' in t && t.verdict !== 'consistent' && t.reason !== 'event') {
        expect(verdictOfReason(t.reason), `${state} × ${event}`).toBe(t.verdict);
      }
    }
  });

  it('an outage never ends in mismatch: only checksum loops and persisting differences do', () => {
    const mismatches = pairs.filter(({ state, event }) => {
      const t = probeTransition(state, event);
      return 'verdict' in t && t.verdict === 'mismatch';
    });
    expect(mismatches.map(({ state, event }) => `${state} × ${event}`)).toEqual([
      'sync × checksum-loop',
      'replication-check × ok',
      'replication-check × replication-stalled'
    ]);
  });

  it("a signal's reason: a lost lease is its own event, anything else the deadline", () => {
    const aborted = (reason: unknown) => {
      const c = new AbortController();
      c.abort(reason);
      return abortEvent(c.signal);
    };
    expect(aborted('SYNCSCOPE_E_JOB_LEASE_LOST')).toBe('lease-lost');
    expect(aborted({ code: 'SYNCSCOPE_E_JOB_LEASE_LOST' })).toBe('lease-lost');
    expect(aborted('SYNCSCOPE_E_PROBE_DEADLINE')).toBe('deadline');
    expect(aborted(new Error('whatever'))).toBe('deadline');
    expect(abortEvent(AbortSignal.abort())).toBe('deadline');
  });
});
