/**
 * The four verdicts a probe (read, write, light or full) can reach, and the reason codes behind the
 * three that are not `consistent`. Every consumer (CLI exit codes, metrics, console badges, history
 * filters, alert rules) keys on these, so they live here once.
 *
 * - consistent: the user holds exactly what the source and the rules imply.
 * - mismatch: the service serves the user something else, and it persisted through the settle window.
 * - inconclusive: we could not tell (service unreachable or refusing, stream kept failing, source
 *   session lost, statement timeout, rules reprocessing, initial replication, bucket limit, deadline).
 *   Never an accusation: an outage is not a mismatch. Jobs retry these with backoff.
 * - error: SyncScope itself failed (a bug, or input it should have refused earlier).
 */
import type { ErrorCode } from '../errors/error-codes.ts';

export const PROBE_VERDICTS = ['consistent', 'mismatch', 'inconclusive', 'error'] as const;
export type ProbeVerdict = (typeof PROBE_VERDICTS)[number];

/** `syncscope probe` and friends exit with these (documented in docs/cli.md). */
export const VERDICT_EXIT_CODES: Record<ProbeVerdict, number> = {
  consistent: 0,
  mismatch: 1,
  inconclusive: 2,
  error: 3
};

/** Reason codes (from the error catalogue) that make a probe inconclusive. */
export const INCONCLUSIVE_REASONS = [
  'SYNCSCOPE_E_SERVICE_UNREACHABLE',
  'SYNCSCOPE_E_SERVICE_REFUSED_TOKEN',
  'SYNCSCOPE_E_SERVICE_INITIAL_REPLICATION',
  'SYNCSCOPE_E_SERVICE_REPROCESSING',
  'SYNCSCOPE_E_STREAM_UNSTABLE',
  'SYNCSCOPE_E_SOURCE_SESSION_LOST',
  'SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT',
  'SYNCSCOPE_E_BUCKET_LIMIT',
  'SYNCSCOPE_E_PROBE_DEADLINE',
  'SYNCSCOPE_E_JOB_LEASE_LOST'
] as const satisfies readonly ErrorCode[];

/** Reason codes of a mismatch: what persisted. */
export const MISMATCH_REASONS = [
  'SYNCSCOPE_E_ROWS_DIFFER',
  'SYNCSCOPE_E_BUCKETS_DIFFER',
  'SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP',
  'SYNCSCOPE_E_WRITE_CHECKPOINT_NOT_ECHOED',
  'SYNCSCOPE_E_REPLICATION_STALLED',
  // Write probes: the write never reached Postgres.
  'SYNCSCOPE_E_WRITE_NOT_APPLIED'
] as const satisfies readonly ErrorCode[];

export type InconclusiveReason = (typeof INCONCLUSIVE_REASONS)[number];
export type MismatchReason = (typeof MISMATCH_REASONS)[number];
/** `error` verdicts carry any catalogue code, SYNCSCOPE_E_INTERNAL_ERROR for a bug. */
export type VerdictReasonCode = InconclusiveReason | MismatchReason | ErrorCode;

/** Why a probe is not consistent: a catalogue code and one sentence for a person. */
export interface VerdictReason {
  code: VerdictReasonCode;
  message: string;
}

const inconclusive = new Set<string>(INCONCLUSIVE_REASONS);
const mismatch = new Set<string>(MISMATCH_REASONS);

/** The verdict a reason code implies (any other catalogue code is an error). */
export function verdictOfReason(code: string): Exclude<ProbeVerdict, 'consistent'> {
  if (inconclusive.has(code)) return 'inconclusive';
  if (mismatch.has(code)) return 'mismatch';
  return 'error';
}

export function isProbeVerdict(value: unknown): value is ProbeVerdict {
  return typeof value === 'string' && (PROBE_VERDICTS as readonly string[]).includes(value);
}

/**
 * Whether a probe got as far as comparing what the user holds with what they should (its diff ran). One
 * that did not (an outage, a refused token, the bucket limit) says nothing about the user's data: no
 * check marks, no "every row is equal".
 */
export function reportCompared(report: { phases: Record<string, number> }): boolean {
  return 'diff' in report.phases;
}
