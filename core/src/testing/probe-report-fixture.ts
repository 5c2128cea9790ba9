import { PROBE_REPORT_VERSION, type ProbeReport } from '../probe/probe-types.ts';

/** A minimal, valid probe report for tests and benchmarks that store runs without probing. */
export function probeReportFixture(
  verdict: ProbeReport['verdict'],
  overrides: Partial<ProbeReport> = {}
): ProbeReport {
  return {
    version: PROBE_REPORT_VERSION,
    target: 'demo',
    userId: 'u-1',
    verdict,
    summary: `${verdict} summary`,
    startedAt: new Date().toISOString(),
    durationMs: 42,
    // A consistent or mismatching probe compared (its diff ran); an outage ends before that.
    phases: verdict === 'consistent' || verdict === 'mismatch' ? { sync: 10, diff: 5 } : { sync: 10 },
    token: { kid: 'k', jti: 'j', expiresAt: '', audience: 'a' },
    sync: { kind: 'synced', ms: 10 },
    buckets: { expected: [], actual: [], differences: [], overLimit: false },
    rows: { expected: 0, actual: 0, perTable: {}, differences: [] },
    checksums: { bucketMismatches: [], rowMismatches: 0 },
    warnings: [],
    ...overrides
  };
}
