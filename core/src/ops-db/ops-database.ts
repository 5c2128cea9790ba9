import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { SyncScopeError } from '../errors/index.ts';
import type { ProbeReport } from '../probe/probe-types.ts';
import type { WriteProbeReport } from '../write-probe/write-probe-types.ts';
import { AuditBatcher, appendAudits } from './audit-batch.ts';

// Built from this file's folder (not `new URL('./migrations', …)`, which bundlers try to resolve as an
// asset: the console bundles this module but never migrates; agents and `npm start` do).
const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Brings SyncScope's own database to the latest schema (node-pg-migrate, SQL migrations). Agents, the
 * CLI and `npm start` may migrate at the same moment: each waits for the advisory lock, then finds
 * nothing left to do.
 */
export async function migrateOpsDatabase(databaseUrl: string): Promise<string[]> {
  if (!(await hasPendingMigrations(databaseUrl))) return [];
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    migrationsSchema: 'public',
    advisoryLockMode: 'wait',
    log: () => {}
  }).catch((error: unknown) => {
    // The console and agent roles may read the applied migrations but not change the schema.
    const message = error instanceof Error ? error.message : String(error);
    if (!/permission denied|must be owner/.test(message)) throw error;
    throw new SyncScopeError(
      'SYNCSCOPE_E_OPS_DB_NOT_MIGRATED',
      `The ops database has migrations to apply and this role may not apply them (${message.split('\n')[0]}). Run the setup as the ops owner (npm start or compose's setup service do), then start again.`,
      undefined,
      { cause: error }
    );
  });
  return applied.map((m) => m.name);
}

/**
 * Whether a migration file is not yet recorded as applied. Checked before node-pg-migrate, whose own
 * check needs privileges on its table that the console and agent roles do not have.
 */
async function hasPendingMigrations(databaseUrl: string): Promise<boolean> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT name FROM public.pgmigrations WHERE to_regclass('public.pgmigrations') IS NOT NULL"
    );
    const applied = new Set(rows.map((r) => r.name));
    return files.some((name) => !applied.has(name));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return true; // no migrations table yet
    throw error;
  } finally {
    await client.end();
  }
}

export interface AuditEntry {
  actor: string;
  action:
    | 'probe.requested'
    | 'probe.token_minted'
    | 'probe.run'
    | 'explain.run'
    | 'rules.dry_run'
    | 'user.added'
    | 'database.inspected'
    | 'user.role_changed'
    | 'user.role_granted'
    | 'user.role_revoked'
    | 'user.reset'
    | 'console.signed_in'
    | 'ingest_key.added'
    | 'ingest_key.revoked'
    | 'inspection.deleted';
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
  await appendAudits(db, [entry]);
}

/**
 * Runs `fn` in one transaction on one client of `pool`: a change and its audit entry commit together, or
 * neither does (a failed audit insert rolls the change back).
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is discarded, not handed to the next caller.
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** SyncScope's ops database: probe history and the append-only audit log. */
export class OpsDatabase {
  readonly pool: pg.Pool;

  /** `databaseUrl` is kept for readiness checks, which connect on their own (ops-readiness.ts). */
  constructor(readonly databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: 'syncscope-ops' });
    this.pool.on('error', () => {});
    this.auditBatch = new AuditBatcher(this.pool);
  }

  /** Entries written at the same time share one INSERT (audit-batch.ts); each resolves once committed. */
  private readonly auditBatch: AuditBatcher;

  audit(entry: AuditEntry): Promise<void> {
    return this.auditBatch.append(entry);
  }

  /**
   * Stores a probe's report, and its stream subscriptions beside it, with its `probe.run` audit entry in the
   * same transaction (an unaudited run is never stored); returns the run's id (its permanent link).
   */
  recordProbeRun(
    report: ProbeReport | WriteProbeReport,
    origin: { jobId?: string; requestedBy?: string } = {}
  ): Promise<string> {
    return inTransaction(this.pool, (client) => insertProbeRun(client, report, origin));
  }

  /** The full run stored as the confirmation of light run `runId` (recordProbeRun stores both), if any. */
  async confirmingRunOf(runId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM syncscope.probe_runs WHERE confirms = $1',
      [runId]
    );
    return rows[0]?.id ?? null;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Where a stored run came from: a console job's attempt (final: the job's result), or a direct probe. */
export interface ProbeRunOrigin {
  jobId?: string;
  requestedBy?: string;
  attempt?: number;
  final?: boolean;
}

/**
 * Inserts a run, its hourly rollup counts and its `probe.run` audit entry on `client`, which must be in a
 * transaction (the job queue stores a run, the job's new state and the audit entry in one). A job has one
 * run per attempt and one final run: the database refuses a second (unique indexes of migration 8). A
 * consistent read probe's report is stored compact (migration 14; core/src/fleet-results/).
 */
export async function insertProbeRun(
  client: pg.PoolClient,
  report: ProbeReport | WriteProbeReport,
  origin: ProbeRunOrigin
): Promise<string> {
  const kind = 'kind' in report ? report.kind : 'read';
  const id = randomUUID();
  let stored = report;
  if (!('kind' in report) && report.confirmation) {
    // A light run and the full run that confirmed (or not) its difference: two runs naming each other,
    // the confirming one first (the references are checked at commit). It is no attempt of the job.
    const { confirmation, ...light } = report;
    const confirmedByRun = await insertProbeRun(
      client,
      { ...confirmation, confirmsRun: id },
      { jobId: origin.jobId, requestedBy: origin.requestedBy }
    );
    stored = { ...light, confirmedByRun };
  }
  const links = 'kind' in stored ? {} : stored;
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO syncscope.probe_runs
       (id, target, user_id, verdict, summary, started_at, duration_ms, report, job_id, requested_by, kind,
        subscriptions, reason_code, attempt, final, mode, confirmed_by, confirms)
     VALUES ($1, $2, $3, $4, $5, $6, $7,
       CASE WHEN $4 = 'consistent' AND $11 = 'read' THEN syncscope.compact_probe_report($8) ELSE $8 END,
       $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id`,
    [
      id,
      stored.target,
      stored.userId,
      stored.verdict,
      stored.summary,
      stored.startedAt,
      stored.durationMs,
      stored,
      origin.jobId ?? null,
      origin.requestedBy ?? null,
      kind,
      JSON.stringify('subscriptions' in stored ? (stored.subscriptions ?? []) : []),
      stored.reason?.code ?? null,
      origin.attempt ?? null,
      origin.final ?? null,
      ('mode' in links && links.mode) || 'full',
      ('confirmedByRun' in links && links.confirmedByRun) || null,
      ('confirmsRun' in links && links.confirmsRun) || null
    ]
  );
  const runId = rows[0]!.id;
  // In this transaction: the run and its counts commit together, whichever agent stores it.
  await client.query('SELECT syncscope.roll_up_probe_runs(ARRAY[$1::uuid])', [runId]);
  await appendAudit(client, {
    actor: origin.requestedBy ?? 'agent',
    action: 'probe.run',
    target: report.target,
    subjectUser: report.userId,
    details: {
      runId,
      kind,
      verdict: report.verdict,
      reasonCode: report.reason?.code ?? null,
      jobId: origin.jobId ?? null,
      ...('kind' in stored ? {} : { mode: stored.mode ?? 'full' }),
      ...(!('kind' in stored) && stored.confirmedByRun ? { confirmedByRun: stored.confirmedByRun } : {}),
      ...(!('kind' in stored) && stored.confirmsRun ? { confirmsRun: stored.confirmsRun } : {}),
      ...(origin.attempt === undefined ? {} : { attempt: origin.attempt, final: origin.final ?? false })
    }
  });
  return runId;
}
