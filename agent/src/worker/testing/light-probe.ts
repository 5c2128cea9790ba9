/**
 * Stands in for the probe engine in tests of the job queue and schedules (not of probing): phases, a
 * short wait that its signal can cut, a consistent report. A real probe costs seconds of CPU on a shared
 * 2-core machine; the tests that use this one are about which jobs run where and when.
 */
import { PROBE_REPORT_VERSION, type ProbeReport } from '@syncscope/core/probe/probe-types';
import type { ProbeRequest } from '../../probe/probe-target.ts';

export async function lightProbe(
  request: ProbeRequest,
  phaseMs = () => 15 + Math.random() * 85
): Promise<ProbeReport> {
  const startedAt = new Date();
  for (const phase of ['mint', 'sync', 'diff']) {
    request.onPhase?.(phase);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, phaseMs());
      request.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(null);
      });
    });
  }
  const aborted = request.signal?.aborted;
  return {
    version: PROBE_REPORT_VERSION,
    target: request.target.name,
    userId: request.userId,
    verdict: aborted ? 'inconclusive' : 'consistent',
    ...(aborted
      ? { reason: { code: 'SYNCSCOPE_E_PROBE_DEADLINE', message: String(request.signal?.reason) } }
      : {}),
    summary: aborted ? 'stopped' : 'light probe',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    phases: {},
    token: { kid: '', jti: '', expiresAt: '', audience: '' },
    sync: { kind: 'synced', ms: 0 },
    buckets: { expected: [], actual: [], differences: [], overLimit: false },
    rows: { expected: 0, actual: 0, perTable: {}, differences: [] },
    checksums: { bucketMismatches: [], rowMismatches: 0 },
    warnings: []
  };
}
