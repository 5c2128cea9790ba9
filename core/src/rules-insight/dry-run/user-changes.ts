/**
 * What one user would gain and lose: buckets by id, rows as the difference of the (table, id) sets the
 * user holds under each version (a row moving between buckets is neither downloaded nor dropped).
 */
import { lineOfSql } from '../../probe/expected/rule-analysis.ts';
import type { HeldBucketRows } from './bucket-contents.ts';
import type { BucketChange, UserChange } from './dry-run-report.ts';
import type { BucketSet, UserBucketSets } from './user-bucket-sets.ts';

export interface VersionView {
  yaml: string;
  rows: Map<string, HeldBucketRows>;
}

/** `1#by_workspace["ws-1"]` → `by_workspace["ws-1"]`: both versions are evaluated under one prefix. */
const withoutVersion = (bucket: string) => bucket.replace(/^\d+#/, '');

/** The line of a definition's or stream's name; an empty query makes lineOfSql stop at its header. */
const definitionLine = (yaml: string, definition: string) => lineOfSql(yaml, definition, '');

function rowsOf(buckets: BucketSet, view: VersionView): Map<number, number> {
  const rows = new Map<number, number>();
  for (const bucket of buckets.keys()) {
    const held = view.rows.get(bucket);
    if (!held) continue;
    for (let i = 0; i < held.rows.length; i++) rows.set(held.rows[i]!, held.bytes[i]!);
  }
  return rows;
}

function bucketChanges(from: BucketSet, to: BucketSet, view: VersionView): BucketChange[] {
  const out: BucketChange[] = [];
  for (const [bucket, definition] of from) {
    if (to.has(bucket)) continue;
    const held = view.rows.get(bucket);
    out.push({
      bucket: withoutVersion(bucket),
      definition,
      line: definitionLine(view.yaml, definition),
      rows: held?.rows.length ?? 0,
      bytes: held?.bytes.reduce((a, b) => a + b, 0) ?? 0
    });
  }
  return out.sort((a, b) => b.rows - a.rows || (a.bucket < b.bucket ? -1 : 1));
}

function difference(a: Map<number, number>, b: Map<number, number>): { rows: number; bytes: number } {
  let rows = 0;
  let bytes = 0;
  for (const [row, size] of a) {
    if (b.has(row)) continue;
    rows++;
    bytes += size;
  }
  return { rows, bytes };
}

/** The user's change, or null when nothing about their buckets or rows changes. */
export function userChange(
  user: UserBucketSets,
  current: VersionView,
  draft: VersionView
): UserChange | null {
  const gained = bucketChanges(user.draft, user.current, draft);
  const lost = bucketChanges(user.current, user.draft, current);
  const before = rowsOf(user.current, current);
  const after = rowsOf(user.draft, draft);
  const downloaded = difference(after, before);
  const dropped = difference(before, after);
  if (gained.length + lost.length + downloaded.rows + dropped.rows === 0) return null;
  return {
    userId: user.userId,
    gained,
    lost,
    rowsDownloaded: downloaded.rows,
    bytesDownloaded: downloaded.bytes,
    rowsDropped: dropped.rows,
    bytesDropped: dropped.bytes
  };
}
