import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { RunRetention } from './retention-config.ts';

/** One lock for the whole pass: several agents may start one at once, and only one runs. */
const MAINTENANCE_LOCK = 'syncscope-probe-run-maintenance';

export interface MaintenanceResult {
  /** False when another agent held the lock: this one did nothing. */
  ran: boolean;
  runsPruned: number;
  jobsPruned: number;
  runsCompacted: number;
  batches: number;
  /** Time spent in batches, pauses excluded. */
  workMs: number;
}

/**
 * Raw runs older than the retention are deleted a batch at a time, with the finished jobs whose result
 * they are (a job names its final run: deleting the run alone would break that key). The rollups keep
 * their counts and the audit log keeps every entry, `probe.run` entries naming pruned runs included.
 */
const PRUNE_BATCH = `
  WITH doomed AS (
    SELECT id FROM syncscope.probe_runs WHERE started_at < $1 ORDER BY started_at LIMIT $2
  ), jobs AS (
    DELETE FROM syncscope.probe_jobs j USING doomed WHERE j.run_id = doomed.id RETURNING j.id
  ), runs AS (
    DELETE FROM syncscope.probe_runs r USING doomed WHERE r.id = doomed.id RETURNING r.id
  )
  SELECT (SELECT count(*) FROM runs)::int AS runs, (SELECT count(*) FROM jobs)::int AS jobs`;

/** Jobs that failed without a run, finished before the cutoff. */
const PRUNE_FAILED_JOBS = `
  DELETE FROM syncscope.probe_jobs WHERE id IN (
    SELECT id FROM syncscope.probe_jobs
    WHERE run_id IS NULL AND status = 'failed' AND finished_at < $1 LIMIT $2)`;

/** Consistent read runs stored whole before migration 14, compacted as new ones are stored. */
const COMPACT_BATCH = `
  UPDATE syncscope.probe_runs SET report = syncscope.compact_probe_report(report)
  WHERE id IN (
    SELECT id FROM syncscope.probe_runs
    WHERE verdict = 'consistent' AND kind = 'read' AND NOT (report ? 'compact') LIMIT $1)`;

/**
 * One maintenance pass over the ops database's probe runs: prune, then compact what is left. Bounded
 * statements with a pause between them, under a session advisory lock taken without waiting (an agent
 * that finds it held returns at once); the lock goes with the connection if the agent dies.
 */
export async function maintainProbeRuns(
  pool: pg.Pool,
  retention: RunRetention,
  options: { now?: Date; signal?: AbortSignal } = {}
): Promise<MaintenanceResult> {
  const result: MaintenanceResult = {
    ran: false,
    runsPruned: 0,
    jobsPruned: 0,
    runsCompacted: 0,
    batches: 0,
    workMs: 0
  };
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [MAINTENANCE_LOCK]
    );
    if (!rows[0]!.locked) return result;
    result.ran = true;
    try {
      const cutoff = new Date((options.now ?? new Date()).getTime() - retention.rawRunDays * 86_400_000);
      const batch = async (
        sql: string,
        values: unknown[]
      ): Promise<{ rowCount: number; rows: unknown[] }> => {
        if (result.batches > 0 && retention.pauseMs > 0)
          await sleep(retention.pauseMs, undefined, { signal: options.signal });
        options.signal?.throwIfAborted();
        const started = performance.now();
        const answer = await client.query(sql, values);
        result.workMs += performance.now() - started;
        result.batches++;
        return { rowCount: answer.rowCount ?? 0, rows: answer.rows };
      };
      for (;;) {
        const { rows: counts } = await batch(PRUNE_BATCH, [cutoff, retention.batchRows]);
        const { runs, jobs } = counts[0] as { runs: number; jobs: number };
        result.runsPruned += runs;
        result.jobsPruned += jobs;
        if (runs < retention.batchRows) break;
      }
      for (;;) {
        const { rowCount } = await batch(PRUNE_FAILED_JOBS, [cutoff, retention.batchRows]);
        result.jobsPruned += rowCount;
        if (rowCount < retention.batchRows) break;
      }
      for (;;) {
        const { rowCount } = await batch(COMPACT_BATCH, [retention.batchRows]);
        result.runsCompacted += rowCount;
        if (rowCount < retention.batchRows) break;
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [MAINTENANCE_LOCK]);
    }
    return result;
  } finally {
    client.release();
  }
}
