/**
 * Shared by the holders of bucket definitions (`explain-row.ts`) and of sync streams (`stream-holders.ts`):
 * how many evidence rows are kept, when two bucket values are the same, and how values and lists are worded.
 */
import { type SqliteJsonValue, serializeBucketParameters } from '@powersync/service-sync-rules';
import { formatValue, valueType } from '../expected/rule-analysis.ts';

/** Evidence rows kept per bucket: a bucket held by a million users is described, not listed. */
export const MAX_EVIDENCE_ROWS = 1000;

/** At most 20 items of a list, then how many more. */
export function listed(items: string[], separator: string): string {
  const shown = items.slice(0, 20).join(separator);
  return items.length > 20 ? `${shown}${separator}and ${items.length - 20} more` : shown;
}

/** True when two values make the same bucket id (so text '42' and integer 42 differ). */
export function sameValue(
  parameter: string,
  a: SqliteJsonValue | undefined,
  b: SqliteJsonValue | undefined
): boolean {
  const key = `bucket.${parameter}`;
  return (
    serializeBucketParameters([parameter], { [key]: a ?? null }) ===
    serializeBucketParameters([parameter], { [key]: b ?? null })
  );
}

/** A value with its SQLite type: `text '42'`, `integer 42`. */
export function typed(value: unknown): string {
  return `${valueType(value)} ${formatValue(value)}`;
}
