/**
 * A held canary's verdict, from what it last observed: the same four verdicts and reason codes as a
 * probe (../probe/verdicts.ts). A stream that is down makes it inconclusive, never a mismatch; a
 * difference is a mismatch only once it has lasted the settle window (until then it is lag).
 */
import type { ErrorCode } from '../errors/error-codes.ts';
import type { ProbeEvent } from '../probe/probe-lifecycle.ts';
import type { ProbeVerdict } from '../probe/verdicts.ts';

/** Consecutive checksum failures at checkpoint_complete that make a loop (the client would retry forever). */
export const CHECKSUM_LOOP_FAILURES = 3;

export interface CanaryObservation {
  /** Why the stream or the source cannot be read now (null: both answer). */
  outage: { event: ProbeEvent; message: string } | null;
  /** Whether a comparison has completed since the canary was (re)connected. */
  compared: boolean;
  consecutiveChecksumFailures: number;
  /** Differences that lasted the settle window, by kind. */
  persisted: { buckets: number; rows: number };
}

export interface CanaryVerdict {
  verdict: ProbeVerdict;
  reason?: { code: ErrorCode; message: string };
}

/** The reason code an outage event stands for (the probe lifecycle's codes). */
const OUTAGE_REASONS: Partial<Record<ProbeEvent, ErrorCode>> = {
  unreachable: 'SYNCSCOPE_E_SERVICE_UNREACHABLE',
  'token-refused': 'SYNCSCOPE_E_SERVICE_REFUSED_TOKEN',
  'stream-unstable': 'SYNCSCOPE_E_STREAM_UNSTABLE',
  'bucket-limit': 'SYNCSCOPE_E_BUCKET_LIMIT',
  'source-session-lost': 'SYNCSCOPE_E_SOURCE_SESSION_LOST',
  'source-timeout': 'SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT',
  'initial-replication': 'SYNCSCOPE_E_SERVICE_INITIAL_REPLICATION',
  reprocessing: 'SYNCSCOPE_E_SERVICE_REPROCESSING'
};

/** The verdict, first rule that applies: outage, not yet compared, checksum loop, buckets, rows, consistent. */
export function canaryVerdict(o: CanaryObservation): CanaryVerdict {
  if (o.outage) {
    const code = OUTAGE_REASONS[o.outage.event];
    if (code) return { verdict: 'inconclusive', reason: { code, message: o.outage.message } };
    return { verdict: 'error', reason: { code: 'SYNCSCOPE_E_INTERNAL_ERROR', message: o.outage.message } };
  }
  if (!o.compared) {
    return {
      verdict: 'inconclusive',
      reason: {
        code: 'SYNCSCOPE_E_STREAM_UNSTABLE',
        message: 'The canary has not completed a checkpoint and a comparison since it (re)connected.'
      }
    };
  }
  if (o.consecutiveChecksumFailures >= CHECKSUM_LOOP_FAILURES) {
    return {
      verdict: 'mismatch',
      reason: {
        code: 'SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP',
        message: `The service's bucket checksums failed ${o.consecutiveChecksumFailures} checkpoints in a row: a client would re-download forever.`
      }
    };
  }
  if (o.persisted.buckets > 0) {
    return {
      verdict: 'mismatch',
      reason: {
        code: 'SYNCSCOPE_E_BUCKETS_DIFFER',
        message: `${o.persisted.buckets} bucket(s) differ from what the source and the rules give the user, beyond the settle window.`
      }
    };
  }
  if (o.persisted.rows > 0) {
    return {
      verdict: 'mismatch',
      reason: {
        code: 'SYNCSCOPE_E_ROWS_DIFFER',
        message: `${o.persisted.rows} row(s) differ from the source, beyond the settle window.`
      }
    };
  }
  return { verdict: 'consistent' };
}

/**
 * When each difference was first seen, so one that clears within the settle window counts as lag and
 * one that lasts counts as a fault. Keys are `table/id` for rows, `bucket:NAME` for buckets.
 */
export class DifferenceTracker {
  private readonly since = new Map<string, number>();

  /** The result of comparing `checked` keys at `now`: those in `differing` differ, the others agree. */
  observe(now: number, checked: Iterable<string>, differing: ReadonlySet<string>): void {
    for (const key of checked) {
      if (!differing.has(key)) this.since.delete(key);
      else if (!this.since.has(key)) this.since.set(key, now);
    }
  }

  /** Keys still differing (to check again). */
  pending(): string[] {
    return [...this.since.keys()];
  }

  /** Differences that have lasted `settleMs` at `now`, counted by kind. */
  persisted(now: number, settleMs: number): { buckets: number; rows: number } {
    const out = { buckets: 0, rows: 0 };
    for (const [key, since] of this.since) {
      if (now - since < settleMs) continue;
      if (key.startsWith(BUCKET_KEY_PREFIX)) out.buckets++;
      else out.rows++;
    }
    return out;
  }

  /** The earliest time a pending difference reaches the settle window (null: none pending). */
  nextSettleAt(settleMs: number): number | null {
    let next: number | null = null;
    for (const since of this.since.values()) next = Math.min(next ?? Infinity, since + settleMs);
    return next;
  }

  clear(): void {
    this.since.clear();
  }
}

export const BUCKET_KEY_PREFIX = 'bucket:';
