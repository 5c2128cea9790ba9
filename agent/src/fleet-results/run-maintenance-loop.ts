import type { Logger } from '@syncscope/core';
import { type MaintenanceResult, maintainProbeRuns } from '@syncscope/core/fleet-results/maintain-probe-runs';
import type { RunRetention } from '@syncscope/core/fleet-results/retention-config';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { Counter, type Registry } from 'prom-client';

/** Hourly, and a minute after start (not during it). Every agent runs it; the lock lets one work. */
const EVERY_MS = 3_600_000;
const FIRST_AFTER_MS = 60_000;

export interface RunMaintenanceLoop {
  /** One pass now (what each timer does). */
  runNow(): Promise<MaintenanceResult>;
  stop(): Promise<void>;
}

/**
 * Keeps the ops database's probe runs within the retention: each pass prunes and compacts
 * (core/src/fleet-results/maintain-probe-runs.ts) and counts what it did in
 * `syncscope_probe_runs_pruned_total` and `syncscope_probe_runs_compacted_total`.
 */
export function startRunMaintenance(options: {
  ops: OpsDatabase;
  retention: RunRetention;
  logger: Logger;
  registry: Registry;
}): RunMaintenanceLoop {
  const log = options.logger.child({ part: 'run-maintenance' });
  const registers = [options.registry];
  const pruned = new Counter({
    name: 'syncscope_probe_runs_pruned_total',
    help: 'Raw probe runs this agent deleted past the retention (their rollups are kept).',
    registers
  });
  const compacted = new Counter({
    name: 'syncscope_probe_runs_compacted_total',
    help: 'Consistent probe runs stored whole before migration 14 that this agent compacted.',
    registers
  });
  const abort = new AbortController();
  let running: Promise<MaintenanceResult> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const pass = async (): Promise<MaintenanceResult> => {
    const result = await maintainProbeRuns(options.ops.pool, options.retention, { signal: abort.signal });
    pruned.inc(result.runsPruned);
    compacted.inc(result.runsCompacted);
    if (result.runsPruned || result.jobsPruned || result.runsCompacted)
      log.info({ ...result, retentionDays: options.retention.rawRunDays }, 'probe runs pruned and compacted');
    return result;
  };
  const runNow = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      void runNow()
        .catch((error: Error) => {
          if (!abort.signal.aborted) log.warn({ err: error.message }, 'probe-run maintenance failed');
        })
        .finally(() => {
          if (!abort.signal.aborted) schedule(EVERY_MS);
        });
    }, ms);
  };
  schedule(FIRST_AFTER_MS);
  return {
    runNow,
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await running?.catch(() => {});
    }
  };
}
