import { createHash } from 'node:crypto';
import type pg from 'pg';

/** The chain's first prev_hash: 32 zero bytes. */
export const GENESIS_HASH = '0'.repeat(64);

/** One audit entry as the verifier reads it: every field as the text the canonical encoding holds. */
export interface ChainEntry {
  seq: string;
  id: string;
  at: string;
  actor: string | null;
  action: string | null;
  target: string | null;
  subjectUser: string | null;
  reason: string | null;
  details: string | null;
  prevHash: string;
  hash: string;
}

/**
 * The canonical encoding of one entry, identical to `syncscope.audit_entry_encoding` (migration
 * 1700000000006): a JSON array of strings or null without spaces, hashed as UTF-8 with SHA-256.
 */
export function entryEncoding(e: Omit<ChainEntry, 'hash'>): string {
  const fields = [e.seq, e.id, e.at, e.actor, e.action, e.target, e.subjectUser, e.reason, e.details];
  return `[${[...fields, e.prevHash].map((v) => (v === null ? 'null' : JSON.stringify(v))).join(',')}]`;
}

export function entryHash(e: Omit<ChainEntry, 'hash'>): string {
  return createHash('sha256').update(entryEncoding(e), 'utf8').digest('hex');
}

export type ChainProblem =
  | 'hash-mismatch' // the entry's content no longer gives its hash: edited
  | 'prev-hash-mismatch' // it does not follow the entry before it: one deleted, inserted or reordered
  | 'seq-gap' // its chain place is not the one after the entry before it: entries deleted or reordered
  | 'tail-missing' // the chain head row records more entries than there are: the last ones were deleted
  | 'head-not-found'; // the expected head (recorded earlier) is not in the chain: rewritten since

export type ChainVerdict =
  | { intact: true; entries: number; head: { seq: string; hash: string } }
  | {
      intact: false;
      entries: number;
      problem: ChainProblem;
      /** The first bad entry (absent for tail-missing and head-not-found). */
      entry?: { id: string; seq: string; at: string };
      detail: string;
    };

// Ordered by the column, not the text output of the same name (which would put 10 before 2).
const SELECT_ENTRIES = `SELECT seq::text, id::text,
    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, actor, action, target,
    subject_user AS "subjectUser", reason, details::text AS details,
    encode(prev_hash, 'hex') AS "prevHash", encode(hash, 'hex') AS hash
  FROM syncscope.audit_log e WHERE e.seq > $1 AND ($3::bigint IS NULL OR e.seq <= $3) ORDER BY e.seq LIMIT $2`;

/** Checks one entry against the one before it (its expected seq and prev_hash); null when it is good. */
function checkEntry(entry: ChainEntry, expectedSeq: bigint, previousHash: string) {
  if (BigInt(entry.seq) !== expectedSeq)
    return {
      problem: 'seq-gap' as const,
      detail: `chain place ${entry.seq} follows ${expectedSeq - 1n}: entries were deleted or reordered`
    };
  if (entry.prevHash !== previousHash)
    return {
      problem: 'prev-hash-mismatch' as const,
      detail:
        'its prev_hash is not the hash of the entry before it: an entry was deleted, inserted or reordered'
    };
  if (entryHash(entry) !== entry.hash)
    return { problem: 'hash-mismatch' as const, detail: 'its content does not give its hash: it was edited' };
  return null;
}

/**
 * Walks the audit log in chain order and recomputes every hash; names the first bad entry. With
 * `expectHead` (a hash printed by an earlier verify or logged by an agent), also checks that the chain
 * still holds it: a superuser who rewrote the whole chain cannot keep an earlier head.
 */
export async function verifyAuditChain(
  db: Pick<pg.Pool, 'query'>,
  options: { expectHead?: string; pageSize?: number } = {}
): Promise<ChainVerdict> {
  const expectHead = options.expectHead?.toLowerCase();
  let previous = GENESIS_HASH;
  let lastSeq = 0n;
  let entries = 0;
  let headSeen = expectHead === undefined;
  // The head first, and the walk stops at it: entries appended while it walks are not a changed tail.
  const { rows: heads } = await db.query<{ seq: string; hash: string }>(
    "SELECT seq::text, encode(hash, 'hex') AS hash FROM syncscope.audit_chain_head"
  );
  const recorded = heads[0];
  for (;;) {
    const { rows } = await db.query<ChainEntry>(SELECT_ENTRIES, [
      lastSeq.toString(),
      options.pageSize ?? 5000,
      recorded?.seq ?? null
    ]);
    for (const entry of rows) {
      const bad = checkEntry(entry, lastSeq + 1n, previous);
      if (bad)
        return { intact: false, entries, ...bad, entry: { id: entry.id, seq: entry.seq, at: entry.at } };
      entries++;
      previous = entry.hash;
      lastSeq = BigInt(entry.seq);
      if (entry.hash === expectHead) headSeen = true;
    }
    if (rows.length === 0) break;
  }
  if (recorded && (recorded.seq !== lastSeq.toString() || recorded.hash !== previous))
    return {
      intact: false,
      entries,
      problem: 'tail-missing',
      detail: `the chain head records entry ${recorded.seq}, the last entry is ${lastSeq}: the last entries were deleted`
    };
  if (!headSeen)
    return {
      intact: false,
      entries,
      problem: 'head-not-found',
      detail: `the expected head ${expectHead} is not in the chain: it was rewritten after that head was recorded`
    };
  return { intact: true, entries, head: { seq: lastSeq.toString(), hash: previous } };
}
