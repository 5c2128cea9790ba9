import type pg from 'pg';
import type { AuditEntry } from './ops-database.ts';

const COLUMNS = 6;
/** Rows per INSERT: well under Postgres's 65,535 bind parameters. */
const MAX_ROWS = 500;

/** One INSERT of several audit entries, in order; the chain trigger hands each its place. */
export async function appendAudits(
  db: Pick<pg.Pool, 'query'>,
  entries: readonly AuditEntry[]
): Promise<void> {
  const values = entries.flatMap((e) => [
    e.actor,
    e.action,
    e.target ?? null,
    e.subjectUser ?? null,
    e.reason ?? null,
    e.details ?? {}
  ]);
  const rows = entries.map(
    (_, r) => `(${Array.from({ length: COLUMNS }, (_, c) => `$${r * COLUMNS + c + 1}`).join(', ')})`
  );
  await db.query(
    `INSERT INTO syncscope.audit_log (actor, action, target, subject_user, reason, details) VALUES ${rows.join(', ')}`,
    values
  );
}

interface Waiting {
  entry: AuditEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for audit entries. Every insert locks the chain head (migration 1700000000006) and commits
 * on its own, so entries written one at a time queue behind each other's commit: 200 light probes minting
 * at once waited ~1 s for their audit rows. Here an entry goes in at once when nothing is being written;
 * the entries that arrive meanwhile go in together in the next INSERT. Each caller's promise settles when
 * its own entry is committed, so a token is still signed only after its entry exists. A failed INSERT of
 * several entries is retried one by one, so one bad entry fails only its own caller.
 */
export class AuditBatcher {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(private readonly db: Pick<pg.Pool, 'query'>) {}

  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ entry, resolve, reject });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) await this.write(this.waiting.splice(0, MAX_ROWS));
    } finally {
      this.writing = false;
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      await appendAudits(
        this.db,
        batch.map((w) => w.entry)
      );
      for (const w of batch) w.resolve();
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else for (const w of batch) await this.write([w]);
    }
  }
}
