import { describe, expect, it } from 'vitest';
import { type CanaryObservation, canaryVerdict, DifferenceTracker } from './canary-verdict.ts';

const healthy: CanaryObservation = {
  outage: null,
  compared: true,
  consecutiveChecksumFailures: 0,
  persisted: { buckets: 0, rows: 0 }
};

describe('canaryVerdict: first rule that applies', () => {
  const cases: [string, Partial<CanaryObservation>, string, string | undefined][] = [
    ['healthy and compared', {}, 'consistent', undefined],
    [
      'stream down while rows differ: never a mismatch',
      { outage: { event: 'unreachable', message: 'down' }, persisted: { buckets: 0, rows: 3 } },
      'inconclusive',
      'SYNCSCOPE_E_SERVICE_UNREACHABLE'
    ],
    [
      'stream ended, reconnecting',
      { outage: { event: 'stream-unstable', message: 'ended' } },
      'inconclusive',
      'SYNCSCOPE_E_STREAM_UNSTABLE'
    ],
    [
      'token refused',
      { outage: { event: 'token-refused', message: 'no' } },
      'inconclusive',
      'SYNCSCOPE_E_SERVICE_REFUSED_TOKEN'
    ],
    [
      'source session lost',
      { outage: { event: 'source-session-lost', message: 'gone' } },
      'inconclusive',
      'SYNCSCOPE_E_SOURCE_SESSION_LOST'
    ],
    [
      'rules reprocessing',
      { outage: { event: 'reprocessing', message: 'v2' } },
      'inconclusive',
      'SYNCSCOPE_E_SERVICE_REPROCESSING'
    ],
    ['a bug', { outage: { event: 'bug', message: 'oops' } }, 'error', 'SYNCSCOPE_E_INTERNAL_ERROR'],
    ['not compared yet', { compared: false }, 'inconclusive', 'SYNCSCOPE_E_STREAM_UNSTABLE'],
    ['two checksum failures', { consecutiveChecksumFailures: 2 }, 'consistent', undefined],
    [
      'three checksum failures in a row',
      { consecutiveChecksumFailures: 3, persisted: { buckets: 1, rows: 1 } },
      'mismatch',
      'SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP'
    ],
    [
      'buckets and rows persisted',
      { persisted: { buckets: 1, rows: 2 } },
      'mismatch',
      'SYNCSCOPE_E_BUCKETS_DIFFER'
    ],
    ['rows persisted', { persisted: { buckets: 0, rows: 2 } }, 'mismatch', 'SYNCSCOPE_E_ROWS_DIFFER']
  ];
  it.each(cases)('%s', (_name, change, verdict, code) => {
    const v = canaryVerdict({ ...healthy, ...change });
    expect(v.verdict).toBe(verdict);
    expect(v.reason?.code).toBe(code);
  });
});

describe('DifferenceTracker: lag clears within the settle window, a fault persists', () => {
  it('counts a difference only once it has lasted the window, and forgets it when it agrees', () => {
    const t = new DifferenceTracker();
    t.observe(1000, ['records/a', 'records/b', 'bucket:b1'], new Set(['records/a', 'bucket:b1']));
    expect(t.pending().sort()).toEqual(['bucket:b1', 'records/a']);
    expect(t.persisted(1500, 1000)).toEqual({ buckets: 0, rows: 0 });
    expect(t.nextSettleAt(1000)).toBe(2000);
    // Seen again later: still counted from its first sighting.
    t.observe(1800, ['records/a'], new Set(['records/a']));
    expect(t.persisted(2000, 1000)).toEqual({ buckets: 1, rows: 1 });
    t.observe(2100, ['records/a', 'bucket:b1'], new Set());
    expect(t.pending()).toEqual([]);
    expect(t.nextSettleAt(1000)).toBeNull();
  });
});
