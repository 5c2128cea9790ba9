import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import type { ProbeReport } from '../probe/probe-types.ts';
import type { WriteProbeReport } from '../write-probe/write-probe-types.ts';

// Built from this file's folder (not `new URL('./migrations', …)`, which bundlers try to resolve as an
// asset: the console bundles this module but never migrates; agents and `npm start` do).
const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Brings SyncScope's own database to the latest schema (node-pg-migrate, SQL migrations). Agents, the
 * CLI and `npm start` may migrate at the same moment: each waits for the advisory lock, then finds
 * nothing left to do.
 */
export async function migrateOpsDatabase(databaseUrl: string): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    migrationsSchema: 'public',
    advisoryLockMode: 'wait',
    log: () => {}
  });
  return applied.map((m) => m.name);
}

export interface AuditEntry {
  actor: string;
  action:
    | 'probe.requested'
    | 'probe.token_minted'
    | 'probe.run'
    | 'explain.run'
    | 'user.added'
    | 'database.inspected'
    | 'user.role_changed'
    | 'user.role_granted'
    | 'user.role_revoked'
    | 'user.reset'
    | 'console.signed_in';
  target?: string;
  subjectUser?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/**
 * Appends one audit entry (the table refuses updates and deletes: see the first migration). Pass a
 * transaction's client to audit a change in the same transaction as the change.
 */
export async function appendAudit(db: Pick<pg.Pool, 'query'>, entry: AuditEntry): Promise<void> {
  await db.query(
    'INSERT INTO syncscope.audit_log (actor, action, target, subject_user, reason, details) VALUES ($1, $2, $3, $4, $5, $6)',
    [
      entry.actor,
      entry.action,
      entry.target ?? null,
      entry.subjectUser ?? null,
      entry.reason ?? null,
      entry.details ?? {}
    ]
  );
}

/** SyncScope's ops database: probe history and the append-only audit log. */
export class OpsDatabase {
  readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'syncscope-ops' });
    this.pool.on('error', () => {});
  }

  audit(entry: AuditEntry): Promise<void> {
    return appendAudit(this.pool, entry);
  }

  /** Stores a probe's report, and its stream subscriptions beside it; returns the run's id (its permanent link). */
  async recordProbeRun(
    report: ProbeReport | WriteProbeReport,
    origin: { jobId?: string; requestedBy?: string } = {}
  ): Promise<string> {
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO syncscope.probe_runs
         (target, user_id, verdict, summary, started_at, duration_ms, report, job_id, requested_by, kind,
          subscriptions)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
      [
        report.target,
        report.userId,
        report.verdict,
        report.summary,
        report.startedAt,
        report.durationMs,
        report,
        origin.jobId ?? null,
        origin.requestedBy ?? null,
        'kind' in report ? report.kind : 'read',
        JSON.stringify('subscriptions' in report ? (report.subscriptions ?? []) : [])
      ]
    );
    return rows[0]!.id;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
