import type { QueryTrace, RowTrace } from '@syncscope/core/probe/explain/explain-row';
import { formatSubscription } from '@syncscope/core/sync-rules/subscription-text';

const MAX_COLUMNS = 12;
const MAX_VALUE = 60;
const MAX_BUCKETS = 20;

function short(value: string | null): string {
  if (value === null) return 'NULL';
  return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value;
}

function query(q: QueryTrace, userId: string | undefined): string[] {
  const lines = [`  ${q.definition} (line ${q.line || '?'}) → table ${q.outputTable}`, `    ${q.query}`];
  if (q.error) lines.push(`    ✗ evaluation error (the service skips the row): ${q.error}`);
  if (!q.selected) lines.push(`    ✗ not selected: ${q.reason ?? 'no bucket'}`);
  for (const b of q.buckets.slice(0, MAX_BUCKETS)) {
    lines.push(`    ✓ bucket ${b.bucket} (checksum ${b.checksum})`);
    lines.push(`        held by: ${b.holders.description}`);
    for (const near of b.holders.nearMisses) {
      lines.push(
        `        near miss: ${near.table}/${near.id} (${near.definition}, line ${near.line}) differs only by type`
      );
    }
    if (b.user && userId !== undefined) {
      if (b.user.holds) lines.push(`        user ${userId}: holds it`);
      else {
        lines.push(`        user ${userId}: does not hold it`);
        for (const why of b.user.reasons) lines.push(`          - ${why.message}`);
      }
    }
  }
  if (q.buckets.length > MAX_BUCKETS)
    lines.push(`    … and ${q.buckets.length - MAX_BUCKETS} more buckets (--json lists all)`);
  return lines;
}

/** A row's trace through the sync rules, for a person: the summary first, then the evidence. */
export function formatRowTrace(trace: RowTrace): string {
  const lines = [trace.summary, ''];
  if (trace.found && trace.row) {
    lines.push(`Row ${trace.sourceTable} id ${trace.id} (snapshot ${trace.snapshotTakenAt}):`);
    const columns = Object.entries(trace.row);
    for (const [column, value] of columns.slice(0, MAX_COLUMNS)) lines.push(`  ${column}: ${short(value)}`);
    if (columns.length > MAX_COLUMNS)
      lines.push(`  … and ${columns.length - MAX_COLUMNS} more columns (--json)`);
  } else {
    lines.push(
      `Row ${trace.sourceTable} id ${trace.id}: not in Postgres (snapshot ${trace.snapshotTakenAt})`
    );
  }
  lines.push('', trace.queries.length ? 'Data queries reading it:' : 'No data query reads this table.');
  for (const q of trace.queries) lines.push(...query(q, trace.user?.userId));
  if (trace.user) {
    lines.push(
      '',
      `User ${trace.user.userId}: ${trace.user.buckets.length} buckets; ${trace.user.holdsRow ? 'holds' : 'does not hold'} a bucket with this row.`
    );
    if (trace.user.subscriptions.length > 0)
      lines.push(`Subscriptions: ${trace.user.subscriptions.map(formatSubscription).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
