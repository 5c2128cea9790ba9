import type { ProbeReport, RowDifference, SyncOutcome } from '@syncscope/core/probe/probe-types';
import { reportCompared } from '@syncscope/core/probe/verdicts';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';

const LIST_LIMIT = 50;

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function describeSync(sync: SyncOutcome): string {
  switch (sync.kind) {
    case 'synced':
      return `synced in ${seconds(sync.ms)}`;
    case 'auth-rejected':
      return `token refused (HTTP ${sync.httpStatus}${sync.code ? ` ${sync.code}` : ''}): ${sync.message}`;
    case 'unreachable':
      return `unreachable: ${sync.message}`;
    case 'checksum-failure-loop':
      return `checksum-failure loop (${sync.failures} failures) on ${sync.buckets.join(', ')}`;
    case 'no-progress':
      return `no progress for ${sync.seconds} s`;
    case 'token-expiring':
      return `token expiring (${sync.secondsLeft} s left)`;
    case 'write-checkpoint-not-echoed':
      return `write checkpoint not echoed within ${sync.seconds} s`;
    case 'service-error':
      return `refused by the service (HTTP ${sync.httpStatus}${sync.code ? ` ${sync.code}` : ''}): ${sync.message}`;
    case 'stream-unstable':
      return `stream kept failing (${sync.errors} errors, last: ${sync.lastError})`;
    case 'aborted':
      return 'stopped by the probe (deadline or lost job lease)';
  }
}

/** The replication evidence in one line: what the service and the slot said. */
function describeReplication(r: NonNullable<ProbeReport['replication']>): string {
  const parts = [
    ...((r.lagBytesAfter ?? r.lagBytesBefore) !== undefined
      ? [`service lag ${(r.lagBytesAfter ?? r.lagBytesBefore)!.toLocaleString('en-US')} bytes`]
      : []),
    ...(r.lagSeconds !== undefined ? [`service lag ${r.lagSeconds} s`] : []),
    ...(r.lastCheckpointAt
      ? [`last checkpoint ${r.lastCheckpointAt} (${r.lastCheckpointAgeSeconds} s ago)`]
      : []),
    ...(r.slot ? [`slot ${r.slot.name} ${r.slot.confirmedFlushLagBytes ?? '?'} bytes unconfirmed`] : []),
    r.writeCheckpointEchoed === null
      ? 'write checkpoint not checked'
      : `write checkpoint ${r.writeCheckpointEchoed ? 'echoed' : 'not echoed'}`
  ];
  return parts.join(', ');
}

function json(value: unknown): string {
  return value === undefined ? '(absent)' : JSON.stringify(value);
}

function limited<T>(items: T[], render: (item: T) => string[], what: string): string[] {
  const lines = items.slice(0, LIST_LIMIT).flatMap(render);
  if (items.length > LIST_LIMIT)
    lines.push(`  … and ${items.length - LIST_LIMIT} more ${what} (--json lists all)`);
  return lines;
}

function rowDifference(d: RowDifference): string[] {
  const where = d.buckets.length ? ` in ${d.buckets.join(', ')}` : '';
  const cleared = d.settled === 'cleared' ? ` (cleared after ${seconds(d.clearedAfterMs ?? 0)})` : '';
  const lines = [`  ${d.kind.padEnd(9)} ${d.table}/${d.id}${where}${cleared}`];
  for (const f of d.fields ?? [])
    lines.push(`      ${f.field}: expected ${json(f.expected)}, synced ${json(f.actual)}`);
  if (d.expectedChecksum !== undefined || d.actualChecksum !== undefined) {
    lines.push(`      checksum: expected ${d.expectedChecksum ?? '-'}, synced ${d.actualChecksum ?? '-'}`);
  }
  if (d.explanation) lines.push(`      → ${d.explanation}`);
  return lines;
}

/**
 * A probe that ended before its diff (an outage, a refused token, the bucket limit): what it expected,
 * and no claim about what the user holds; check marks and "Differences: none" would read as a pass.
 */
function notCompared(report: ProbeReport, lines: string[]): string {
  const { expected } = report.buckets;
  lines.push('', `Buckets: ${expected.length} expected; not compared (the probe ended before its diff)`);
  lines.push(...limited([...expected].sort(), (b) => [`  ? ${b}`], 'buckets'));
  if (report.warnings.length) lines.push('', 'Warnings:', ...report.warnings.map((w) => `  - ${w}`));
  return `${lines.join('\n')}\n`;
}

/**
 * A light run and the full run that checked its difference name each other (stored as two runs): "mode
 * light · confirmed by full probe <id>", "mode full · light probe <id> found a difference; this full probe
 * confirms it".
 */
function confirmationLines(report: ProbeReport): string[] {
  const { confirmation } = report;
  if (confirmation) {
    const run = report.confirmedByRun ? ` ${report.confirmedByRun}` : '';
    const outcome =
      confirmation.verdict === 'mismatch'
        ? `confirmed by full probe${run}`
        : confirmation.verdict === 'consistent'
          ? `not confirmed: full probe${run} found the user consistent`
          : `full probe${run} could not confirm it (${confirmation.verdict})`;
    return [`mode light · ${outcome}`, `  full probe: ${confirmation.summary}`];
  }
  if (report.confirmsRun) {
    const outcome =
      report.verdict === 'mismatch'
        ? 'this full probe confirms it'
        : report.verdict === 'consistent'
          ? 'this full probe does not confirm it'
          : 'this full probe could not tell';
    return [`mode full · light probe ${report.confirmsRun} found a difference; ${outcome}`];
  }
  return report.mode === 'light' ? ['mode light'] : [];
}

/** The probe report for a person: the summary line first, then buckets, rows per table and differences. */
export function formatProbeReport(report: ProbeReport): string {
  const lines: string[] = [report.summary, ''];
  const token = report.token.jti
    ? `token kid ${report.token.kid}, jti ${report.token.jti}, expires ${report.token.expiresAt}`
    : `token kid ${report.token.kid} (not minted)`;
  lines.push(`target ${report.target} · user ${report.userId} · ${seconds(report.durationMs)} · ${token}`);
  if (report.subscriptions?.length)
    lines.push(`subscriptions: ${report.subscriptions.map(formatSubscription).join(', ')}`);
  if (report.reason) lines.push(`${report.verdict} ${report.reason.code}: ${report.reason.message}`);
  lines.push(...confirmationLines(report));
  lines.push(`sync: ${describeSync(report.sync)}`);
  if (report.replication) lines.push(`replication: ${describeReplication(report.replication)}`);
  const phases = Object.entries(report.phases);
  if (phases.length) lines.push(`phases: ${phases.map(([p, ms]) => `${p} ${seconds(ms)}`).join(', ')}`);
  if (report.error && !report.reason) lines.push(`error: ${report.error.code}: ${report.error.message}`);

  if (!reportCompared(report)) return notCompared(report, lines);
  const { buckets } = report;
  const missing = new Set(buckets.differences.filter((d) => d.kind === 'missing').map((d) => d.bucket));
  const extra = new Set(buckets.differences.filter((d) => d.kind === 'extra').map((d) => d.bucket));
  lines.push(
    '',
    `Buckets: ${buckets.expected.length} expected, ${buckets.actual.length} synced${buckets.overLimit ? ' (over the 1,000-bucket limit)' : ''}`
  );
  const allBuckets = [...new Set([...buckets.expected, ...buckets.actual])].sort();
  lines.push(
    ...limited(
      allBuckets,
      (b) => [`  ${missing.has(b) ? '✗ missing' : extra.has(b) ? '✗ extra  ' : '✓        '} ${b}`],
      'buckets'
    )
  );
  for (const d of buckets.differences) lines.push(`  ${d.kind} ${d.bucket}: ${d.explanation}`);

  const tables = Object.entries(report.rows.perTable).sort(([a], [b]) => a.localeCompare(b));
  lines.push('', `Rows: ${report.rows.expected} expected, ${report.rows.actual} synced`);
  if (tables.length) {
    const width = Math.max(5, ...tables.map(([t]) => t.length));
    lines.push(`  ${'table'.padEnd(width)}  expected  synced`);
    for (const [table, { expected, actual }] of tables) {
      const mark = expected === actual ? '' : '  ✗';
      lines.push(
        `  ${table.padEnd(width)}  ${String(expected).padStart(8)}  ${String(actual).padStart(6)}${mark}`
      );
    }
  }

  const persisted = report.rows.differences.filter((d) => d.settled === 'persisted');
  const cleared = report.rows.differences.filter((d) => d.settled === 'cleared');
  const omitted = report.rows.differencesOmitted ?? 0;
  if (report.rows.differences.length) {
    lines.push(
      '',
      `Differences: ${persisted.length + omitted} persisted, ${cleared.length} cleared within the settle window`
    );
    lines.push(...limited([...persisted, ...cleared], rowDifference, 'differences'));
    if (omitted > 0) {
      lines.push(
        `  … and ${omitted} more persisted differences not kept in the report (the probe lists the first ${persisted.length})`
      );
    }
  } else {
    lines.push('', 'Differences: none');
  }

  const { bucketMismatches, rowMismatches } = report.checksums;
  if (bucketMismatches.length || rowMismatches) {
    lines.push('', 'Checksums:');
    for (const m of bucketMismatches)
      lines.push(`  ${m.bucket}: checkpoint ${m.checkpoint}, client ${m.client}`);
    if (rowMismatches) lines.push(`  ${rowMismatches} live rows with a PUT checksum other than expected`);
  }
  if (report.warnings.length) lines.push('', 'Warnings:', ...report.warnings.map((w) => `  - ${w}`));
  return `${lines.join('\n')}\n`;
}
