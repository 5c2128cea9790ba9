import type { ProbeVerdict, VerdictReason } from '../probe/verdicts.ts';

/**
 * The synthetic write probe's report (stored in the probe history with kind `write`). Version 2: the
 * four verdicts with `reason`.
 */
export const WRITE_PROBE_REPORT_VERSION = 2;

/** The legs of the write path, in order; each is timed from the one before it. */
export const WRITE_PROBE_LEGS = [
  'local-write',
  'backend-accepted',
  'visible-in-postgres',
  'replicated-back',
  'write-checkpoint'
] as const;
export type WriteProbeLegName = (typeof WRITE_PROBE_LEGS)[number];

export interface WriteProbeLeg {
  leg: WriteProbeLegName;
  status: 'passed' | 'failed' | 'skipped';
  /** Time this leg took, from the end of the previous one. */
  ms?: number;
  detail?: string;
}

export interface WriteProbeReport {
  version: typeof WRITE_PROBE_REPORT_VERSION | 1;
  kind: 'write';
  target: string;
  userId: string;
  /**
   * consistent: every leg passed; mismatch: a leg failed (named in failedLeg); inconclusive: the service,
   * backend or source could not be checked; error: the probe could not run (bad settings, a bug).
   */
  verdict: ProbeVerdict;
  /** Why the verdict is not `consistent` (see core/src/probe/verdicts.ts). */
  reason?: VerdictReason;
  summary: string;
  startedAt: string;
  durationMs: number;
  table: string;
  rowId: string;
  marker: string;
  legs: WriteProbeLeg[];
  failedLeg?: WriteProbeLegName;
  /** done: the probe row was deleted again through the same path; pending: it may still be there. */
  cleanup: 'done' | 'pending' | 'not-needed';
  token: { kid: string; jti: string };
  warnings: string[];
  error?: { code: string; message: string };
}
