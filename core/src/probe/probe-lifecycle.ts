/**
 * The probe's lifecycle as a state machine. `runProbe` (run-probe.ts) runs one phase per state; each
 * phase ends in one event, and this table alone decides the next phase or the verdict and its reason.
 *
 *   service-check ──ok──▶ sync ──synced──▶ diff ──ok──▶ consistent
 *   (admin API:           (real client      (diff, settle     │
 *    rules version,        + expected        window, write     └─differences──▶ replication-check
 *    initial replication)  state at once)    checkpoint echo)                    ├─ok──▶ mismatch (ROWS/BUCKETS_DIFFER, WRITE_CHECKPOINT_NOT_ECHOED)
 *                             │                                                  ├─replication-stalled──▶ mismatch REPLICATION_STALLED
 *                             │                                                  └─reprocessing──▶ inconclusive (rules switched mid-probe)
 *                             ├─unreachable──▶ recheck-unreachable ─ok──▶ inconclusive SERVICE_UNREACHABLE
 *                             └─stream-unstable──▶ recheck-unstable ─ok──▶ inconclusive STREAM_UNSTABLE
 *                                 (both rechecks: initial-replication / reprocessing win over the symptom)
 *
 * A light probe (mode `light`: the stream read at the protocol level) walks the same table, except that
 * whatever would be a mismatch goes to `confirm` first: a full probe (the real client) runs, and only
 * its verdict is reported (LIGHT_OVERRIDES):
 *
 *   sync ─checksum-loop─┐
 *   replication-check ─ok / replication-stalled─┴▶ confirm ─confirmed──▶ mismatch (the full probe's reason)
 *                                                          ├─unconfirmed──▶ consistent (the full probe, the
 *                                                          │   reference, found the user consistent: what the
 *                                                          │   light probe saw did not persist)
 *                                                          └─confirmation-inconclusive──▶ inconclusive (its reason)
 *
 * Retries inside the probe are the client's own: a stream cut once is reconnected by the client and the
 * sync phase still ends `synced`; only a stream that keeps failing ends `stream-unstable`.
 * From every state: deadline / lease-lost (the probe's signal), invalid-input (a SyncScopeError for
 * input: unknown stream, bad rules), bug (anything else thrown). An event a state cannot produce is a bug.
 */
import type { ErrorCode } from '../errors/error-codes.ts';
import type { ProbeMode } from './probe-mode.ts';
import type { ProbeVerdict } from './verdicts.ts';

export const PROBE_STATES = [
  'service-check',
  'sync',
  'recheck-unreachable',
  'recheck-unstable',
  'diff',
  'replication-check',
  'confirm'
] as const;
export type ProbeState = (typeof PROBE_STATES)[number];

export const PROBE_EVENTS = [
  'ok',
  'initial-replication',
  'reprocessing',
  'unreachable',
  'token-refused',
  'bucket-limit',
  'stream-unstable',
  'checksum-loop',
  'source-session-lost',
  'source-timeout',
  'differences',
  'replication-stalled',
  'confirmed',
  'unconfirmed',
  'confirmation-inconclusive',
  'deadline',
  'lease-lost',
  'invalid-input',
  'bug'
] as const;
export type ProbeEvent = (typeof PROBE_EVENTS)[number];

/**
 * Where an event leads: the next phase, or a verdict. `reason: 'event'` takes the code the event
 * carries (a differences event knows whether rows, buckets or the echo differed; invalid input its own
 * catalogue code).
 */
export type ProbeTransition =
  | { next: ProbeState }
  | { verdict: Exclude<ProbeVerdict, 'consistent'>; reason: ErrorCode | 'event' }
  | { verdict: 'consistent' };

const inconclusive = (reason: ErrorCode): ProbeTransition => ({ verdict: 'inconclusive', reason });
const BUG: ProbeTransition = { verdict: 'error', reason: 'SYNCSCOPE_E_INTERNAL_ERROR' };

/** What every state does with the events any phase can end in. */
const ANY_STATE: Partial<Record<ProbeEvent, ProbeTransition>> = {
  deadline: inconclusive('SYNCSCOPE_E_PROBE_DEADLINE'),
  'lease-lost': inconclusive('SYNCSCOPE_E_JOB_LEASE_LOST'),
  'invalid-input': { verdict: 'error', reason: 'event' },
  bug: BUG,
  // The source is read in the sync phase, and again to explain differences.
  'source-session-lost': inconclusive('SYNCSCOPE_E_SOURCE_SESSION_LOST'),
  'source-timeout': inconclusive('SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT'),
  // The admin API may say so before, after the sync failed, or when differences persisted.
  'initial-replication': inconclusive('SYNCSCOPE_E_SERVICE_INITIAL_REPLICATION'),
  reprocessing: inconclusive('SYNCSCOPE_E_SERVICE_REPROCESSING')
};

const BY_STATE: Record<ProbeState, Partial<Record<ProbeEvent, ProbeTransition>>> = {
  'service-check': { ok: { next: 'sync' } },
  sync: {
    ok: { next: 'diff' },
    unreachable: { next: 'recheck-unreachable' },
    'stream-unstable': { next: 'recheck-unstable' },
    'token-refused': inconclusive('SYNCSCOPE_E_SERVICE_REFUSED_TOKEN'),
    'bucket-limit': inconclusive('SYNCSCOPE_E_BUCKET_LIMIT'),
    'checksum-loop': { verdict: 'mismatch', reason: 'SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP' }
  },
  'recheck-unreachable': { ok: inconclusive('SYNCSCOPE_E_SERVICE_UNREACHABLE') },
  'recheck-unstable': { ok: inconclusive('SYNCSCOPE_E_STREAM_UNSTABLE') },
  diff: { ok: { verdict: 'consistent' }, differences: { next: 'replication-check' } },
  'replication-check': {
    ok: { verdict: 'mismatch', reason: 'event' },
    'replication-stalled': { verdict: 'mismatch', reason: 'SYNCSCOPE_E_REPLICATION_STALLED' }
  },
  // Only light probes get here.
  confirm: {}
};

/** A light probe reports no mismatch of its own: the full probe in `confirm` decides. */
const CONFIRM: ProbeTransition = { next: 'confirm' };
const LIGHT_OVERRIDES: Partial<Record<ProbeState, Partial<Record<ProbeEvent, ProbeTransition>>>> = {
  sync: { 'checksum-loop': CONFIRM },
  'replication-check': { ok: CONFIRM, 'replication-stalled': CONFIRM },
  confirm: {
    confirmed: { verdict: 'mismatch', reason: 'event' },
    unconfirmed: { verdict: 'consistent' },
    'confirmation-inconclusive': { verdict: 'inconclusive', reason: 'event' }
  }
};

/** The one place the lifecycle is decided. */
export function probeTransition(
  state: ProbeState,
  event: ProbeEvent,
  mode: ProbeMode = 'full'
): ProbeTransition {
  const light = mode === 'light' ? LIGHT_OVERRIDES[state]?.[event] : undefined;
  return light ?? BY_STATE[state][event] ?? ANY_STATE[event] ?? BUG;
}

/** A signal's reason as the event it stands for: a lost lease, else the deadline. */
export function abortEvent(signal: AbortSignal): 'deadline' | 'lease-lost' {
  const reason = signal.reason as unknown;
  const code = typeof reason === 'string' ? reason : (reason as { code?: unknown } | undefined)?.code;
  return code === 'SYNCSCOPE_E_JOB_LEASE_LOST' ? 'lease-lost' : 'deadline';
}
