import { type BudgetTrend, describeForecast } from '@syncscope/core/rules-insight/budgets/budget-history';
import type { BudgetReport } from '@syncscope/core/rules-insight/budgets/compute-budgets';
import type { CoverageReport } from '@syncscope/core/rules-insight/coverage/compute-coverage';
import type { LintFinding } from '@syncscope/core/rules-insight/lint/lint-rules';
import { counted } from '@syncscope/core/text/counted';

const n = (value: number) => value.toLocaleString('en-US');
const ids = (list: string[], total: number) => `${list.join(', ')}${total > list.length ? ', …' : ''}`;

function tableLines(report: CoverageReport): string[] {
  const out: string[] = [];
  for (const t of report.tables) {
    if (t.rowsInNoBucket === 0) {
      out.push(`${t.table}: every row (${n(t.rows)}) is in a bucket a user holds`);
      continue;
    }
    out.push(`${t.table}: ${n(t.rowsInNoBucket)} of ${n(t.rows)} rows in no bucket a user holds`);
    for (const q of t.queries) {
      const parts = [
        q.inUnheldBucket
          ? `${n(q.inUnheldBucket)} in a bucket no user holds (${q.bucketParameters.join(', ')})`
          : '',
        q.nullParameter ? `${n(q.nullParameter)} with a NULL bucket column` : '',
        q.conditionFails ? `${n(q.conditionFails)} its condition leaves out` : ''
      ].filter(Boolean);
      if (parts.length) out.push(`  ${q.definition} (line ${q.line}): ${parts.join('; ')}`);
    }
    for (const s of t.samples) out.push(`  ${s.id}: ${s.reason}`);
  }
  return out;
}

function userLines(report: CoverageReport): string[] {
  const out: string[] = [];
  const w = report.usersWithoutBuckets;
  if (w)
    out.push(
      w.count === 0
        ? `Users: every one of ${n(w.users)} known users gets a bucket`
        : `Users: ${n(w.count)} of ${n(w.users)} known users get no bucket at all ("connected, but no data"): ${ids(w.sampleUserIds, w.count)}`
    );
  for (const g of report.parameterGaps.filter((x) => x.usersWithout > 0))
    out.push(
      `  ${g.definition} (line ${g.line}) gives ${n(g.usersWithout)} of ${n(g.users)} users nothing: ${ids(g.sampleUserIds, g.usersWithout)}`
    );
  return out;
}

function problemLines(report: CoverageReport): string[] {
  const out: string[] = [];
  for (const p of report.tableProblems) out.push(`line ${p.line}: ${p.message}`, `  fix: ${p.fix}`);
  for (const m of report.typeMismatches) out.push(`line ${m.line}: ${m.message}`, `  fix: ${m.fix}`);
  for (const x of report.notAnalysed)
    out.push(
      'table' in x ? `not analysed: ${x.table}: ${x.reason}` : `not analysed: line ${x.line}: ${x.reason}`
    );
  if (report.streams.length)
    out.push(
      `not analysed: sync streams (their buckets follow client subscriptions): ${report.streams.join(', ')}`
    );
  return out;
}

/** The first line names every kind of gap, so it never reads as all clear when a user gets nothing. */
function coverageHeadline(report: CoverageReport): string {
  const uncovered = report.tables.reduce((sum, t) => sum + t.rowsInNoBucket, 0);
  const withoutBuckets = report.usersWithoutBuckets?.count ?? 0;
  const problems = report.tableProblems.length + report.typeMismatches.length;
  return [
    uncovered === 0
      ? 'Every row is in a bucket a user holds'
      : `${counted(uncovered, 'row is', 'rows are')} in no bucket a user holds`,
    withoutBuckets ? `${counted(withoutBuckets, 'user gets', 'users get')} no bucket` : '',
    problems ? `${counted(problems, 'problem')} with the rules' tables or types` : ''
  ]
    .filter(Boolean)
    .join('; ');
}

/** `syncscope rules coverage`'s text: tables first, then users, then the problems with their fixes. */
export function formatCoverage(report: CoverageReport, rulesFile: string): string {
  const head = `${coverageHeadline(report)} (${rulesFile}, snapshot ${report.snapshotTakenAt})`;
  return `${[head, '', ...tableLines(report), ...userLines(report), ...problemLines(report)].join('\n')}\n`;
}

/** Whether coverage found something to fix: rows or users left out, table problems, type mismatches. */
export function coverageHasGaps(report: CoverageReport): boolean {
  return (
    report.tables.some((t) => t.rowsInNoBucket > 0) ||
    (report.usersWithoutBuckets?.count ?? 0) > 0 ||
    report.tableProblems.length > 0 ||
    report.typeMismatches.length > 0
  );
}

/** `syncscope rules lint`'s text: one finding per block, `file:line`, then its fix. */
export function formatLint(findings: LintFinding[], rulesFile: string): string {
  const count = (s: LintFinding['severity']) => findings.filter((f) => f.severity === s).length;
  const lines = findings.flatMap((f) => [
    `${f.severity.padEnd(7)} ${rulesFile}:${f.line} ${f.rule}: ${f.message}`,
    `        fix: ${f.fix}`
  ]);
  const summary =
    findings.length === 0
      ? 'No findings.'
      : `${findings.length} finding${findings.length === 1 ? '' : 's'}: ${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} note(s).`;
  return `${[...lines, summary].join('\n')}\n`;
}

function histogramLines(report: BudgetReport): string[] {
  const most = Math.max(1, ...report.histogram.map((b) => b.users));
  const label = (b: BudgetReport['histogram'][number]) =>
    b.to === null ? `${n(b.from)}+` : b.from === b.to ? n(b.from) : `${n(b.from)}–${n(b.to)}`;
  const width = Math.max('buckets'.length, ...report.histogram.map((b) => label(b).length));
  return [
    `  ${'buckets'.padStart(width)}  ${'users'.padStart(7)}`,
    ...report.histogram.map((b) =>
      `  ${label(b).padStart(width)}  ${n(b.users).padStart(7)}  ${'#'.repeat(Math.ceil((40 * b.users) / most))}`.trimEnd()
    )
  ];
}

function trendText(trend: BudgetTrend | undefined, limit: number): string {
  if (!trend) return '';
  const growth =
    trend.growth === undefined
      ? 'not in the last reading'
      : `${trend.growth >= 0 ? '+' : ''}${n(trend.growth)} since the last reading`;
  return `; ${growth}; ${describeForecast(trend.forecast, limit)}`;
}

/** `syncscope rules budgets`'s text: the distribution, the thresholds, then the users over the lowest. */
export function formatBudgets(
  report: BudgetReport,
  trends: BudgetTrend[] | undefined,
  rulesFile: string
): string {
  const spread = (s: BudgetReport['buckets']) =>
    `p50 ${n(s.p50)}, p90 ${n(s.p90)}, p99 ${n(s.p99)}, max ${n(s.max)}`;
  const lowest = report.thresholds[0]!;
  const lines = [
    `Bucket budgets of ${n(report.users)} users (from the ${report.usersFrom}) against the limit of ${n(report.limit)} (${rulesFile}, snapshot ${report.snapshotTakenAt})`,
    '',
    `Buckets per user: ${spread(report.buckets)}`,
    `Parameter rows per user: ${spread(report.results)}`,
    ...(report.fixed.length
      ? [
          `Every user gets: ${report.fixed.map((p) => `${p.definition} (line ${p.line}) ${n(p.buckets)}`).join(', ')}`
        ]
      : []),
    '',
    ...histogramLines(report),
    '',
    report.over
      .map(
        (o) =>
          `over ${n(o.threshold)}: ${n(o.users)} user${o.users === 1 ? '' : 's'}${o.threshold === report.limit ? ' (refused: PSYNC_S2305)' : ''}`
      )
      .join('; ')
  ];
  if (report.listed.length) lines.push('', `Users over ${n(lowest)}, largest first:`);
  for (const u of report.listed) {
    const top = u.parts[0];
    const trend = trends?.find((t) => t.user === u.user);
    lines.push(
      `  ${u.user}: ${n(u.buckets)} buckets (${n(u.results)} parameter rows)${top ? `, most from ${top.definition} at ${rulesFile}:${top.line} (${n(top.buckets)})` : ''}${trendText(trend, report.limit)}`
    );
  }
  const more = (report.over[0]?.users ?? 0) - report.listed.length;
  if (more > 0) lines.push(`  … and ${n(more)} more`);
  if (!trends && report.listed.length)
    lines.push(
      '',
      'No growth or forecast: set SYNCSCOPE_OPS_DATABASE_URL (or --ops-db) to compare with the readings the agent stores.'
    );
  return `${lines.join('\n')}\n`;
}
