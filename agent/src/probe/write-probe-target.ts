import type { Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import type { WriteProbeLeg, WriteProbeReport } from '@syncscope/core/write-probe/write-probe-types';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';

export interface WriteProbeRequest {
  target: ProbeTarget;
  logger: Logger;
  metrics?: AgentMetrics;
  /** Where the write probe's tokens are audited before use, and its run stored. */
  ops: OpsDatabase;
  actor: string;
  reason: string;
  jobId?: string;
  legTimeoutMs?: number;
  onRecorded?: (runId: string) => void;
  onLeg?: (leg: WriteProbeLeg) => void;
}

/** Runs a write probe: audits its token, counts its legs in the metrics, stores the run. */
export async function writeProbeTarget(request: WriteProbeRequest): Promise<WriteProbeReport> {
  const report = await runWriteProbeTarget(request);
  const runId = await request.ops.recordProbeRun(report, {
    jobId: request.jobId,
    requestedBy: request.actor
  });
  request.onRecorded?.(runId);
  return report;
}

/** writeProbeTarget without storing the run: for the job queue, which stores it under the job's lease. */
export async function runWriteProbeTarget(request: WriteProbeRequest): Promise<WriteProbeReport> {
  const log = request.logger.child({ target: request.target.name, probe: 'write' });
  const { runWriteProbe } = await import('@syncscope/core/write-probe/run-write-probe');
  const report = await runWriteProbe(request.target, {
    legTimeoutMs: request.legTimeoutMs,
    onLeg: (leg) => {
      log.debug({ leg: leg.leg, status: leg.status, ms: leg.ms }, 'write probe leg');
      request.onLeg?.(leg);
    },
    authorisation: { actor: request.actor, reason: request.reason, audit: request.ops }
  });
  request.metrics?.recordWrite(report);
  log.info(
    { verdict: report.verdict, failedLeg: report.failedLeg, durationMs: report.durationMs },
    'write probe finished'
  );
  return report;
}

/** The report for a person: the summary, then each leg with its time. */
export function formatWriteProbeReport(report: WriteProbeReport): string {
  const lines = [report.summary, ''];
  for (const leg of report.legs) {
    const mark = leg.status === 'passed' ? 'ok  ' : leg.status === 'failed' ? 'FAIL' : 'skip';
    lines.push(
      `  ${mark} ${leg.leg.padEnd(20)} ${leg.ms === undefined ? '' : `${leg.ms} ms`}${leg.detail ? `  ${leg.detail}` : ''}`
    );
  }
  lines.push(
    '',
    `Row ${report.table}/${report.rowId} (marker "${report.marker}"), cleanup: ${report.cleanup}.`
  );
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
