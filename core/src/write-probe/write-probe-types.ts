/** The synthetic write probe's report (stored in the probe history with kind `write`). */
export const WRITE_PROBE_REPORT_VERSION = 1;

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
  version: typeof WRITE_PROBE_REPORT_VERSION;
  kind: 'write';
  target: string;
  userId: string;
  /** consistent: every leg passed; mismatch: a leg failed (named in failedLeg); error: could not start. */
  verdict: 'consistent' | 'mismatch' | 'error';
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
