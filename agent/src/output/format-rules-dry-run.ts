import type {
  BucketChange,
  DryRunReport,
  UserChange
} from '@syncscope/core/rules-insight/dry-run/dry-run-report';

const n = (value: number) => value.toLocaleString('en-US');

/** Bytes as people read them: 1,234 B, 12.3 KiB, 4.5 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${n(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Users listed in the text output; `--json` has all of them. */
export const USERS_SHOWN = 20;

function problemLines(report: DryRunReport, draftFile: string): string[] {
  return report.problems.map(
    (p) =>
      `${p.severity} ${draftFile}:${p.line}${p.column ? `:${p.column}` : ''} (${p.source}): ${p.message}${p.fix ? `\n  fix: ${p.fix}` : ''}`
  );
}

const bucketLine = (sign: string, b: BucketChange) =>
  `    ${sign} ${b.bucket} (${b.definition}, line ${b.line}): ${n(b.rows)} rows, ${formatBytes(b.bytes)}`;

function userLines(u: UserChange): string[] {
  return [
    `  ${u.userId}: +${n(u.rowsDownloaded)} rows (${formatBytes(u.bytesDownloaded)}), -${n(u.rowsDropped)} rows (${formatBytes(u.bytesDropped)})`,
    ...u.gained.map((b) => bucketLine('+', b)),
    ...u.lost.map((b) => bucketLine('-', b))
  ];
}

function selectionText(report: DryRunReport): string {
  const s = report.users.selection;
  if (s.kind === 'query') return 'from the users query';
  if (s.kind === 'sample') return `a random sample of ${n(s.size)}`;
  return `all, from ${s.from}`;
}

/** The dry run as text: problems at their lines, or the users' changes, reprocessing and uncovered rows. */
export function formatDryRun(report: DryRunReport, draftFile: string): string {
  const service = report.service.checked
    ? `service validate: ${report.service.ok ? 'ok' : 'refused'}`
    : `service validate: not checked (${report.service.reason})`;
  const lines = [
    `Dry run of ${draftFile} against ${report.target} (snapshot ${report.snapshotTakenAt}); ${service}`
  ];
  lines.push(...problemLines(report, draftFile));
  if (!report.valid) {
    lines.push('The draft is invalid: fix the errors above; nothing else was computed.');
    return `${lines.join('\n')}\n`;
  }
  const t = report.totals;
  lines.push(
    `Users: ${n(report.users.considered)} considered (${selectionText(report)}); ${n(report.users.changed.length)} change, ${n(t.usersGaining)} gain, ${n(t.usersLosing)} lose`,
    `Rows: +${n(t.rowsDownloaded)} downloaded (${formatBytes(t.bytesDownloaded)}), -${n(t.rowsDropped)} dropped (${formatBytes(t.bytesDropped)})`
  );
  for (const u of report.users.changed.slice(0, USERS_SHOWN)) lines.push(...userLines(u));
  if (report.users.changed.length > USERS_SHOWN)
    lines.push(`  … ${n(report.users.changed.length - USERS_SHOWN)} more users (--json lists all)`);
  lines.push(
    `Reprocessing: ${n(report.reprocessing.operations)} operations, ${formatBytes(report.reprocessing.bytes)}`
  );
  for (const u of report.uncovered) {
    if (u.current === 0 && u.draft === 0) continue;
    const sample = u.newlyUncoveredSampleIds.length ? `; newly: ${u.newlyUncoveredSampleIds.join(', ')}` : '';
    lines.push(`In no held bucket: ${u.table}: ${n(u.current)} now, ${n(u.draft)} with the draft${sample}`);
  }
  return `${lines.join('\n')}\n`;
}
