import type { ReplicationHealth } from '@syncscope/core/replication-health/replication-health-types';
import { WAL_STATUSES } from '@syncscope/core/replication-health/replication-health-types';
import { Gauge, type Registry } from 'prom-client';

/**
 * The replication-health metrics, registered into the agent's registry. Labels: `target` (targets file),
 * `slot` (the service's slots in the target's source database: a handful, and a slot that disappears
 * loses its series), `wal_status` (Postgres's four values). Values in bytes and seconds.
 */
export const REPLICATION_HEALTH_METRICS = {
  slotActive: 'syncscope_replication_slot_active',
  slotWalStatus: 'syncscope_replication_slot_wal_status',
  slotRetainedWal: 'syncscope_replication_slot_retained_wal_bytes',
  slotSafeWalSize: 'syncscope_replication_slot_safe_wal_size_bytes',
  slotConfirmedFlushLag: 'syncscope_replication_slot_confirmed_flush_lag_bytes',
  slotsAbandoned: 'syncscope_replication_slots_abandoned',
  lag: 'syncscope_replication_lag_bytes',
  lastCheckpointAge: 'syncscope_replication_last_checkpoint_age_seconds',
  walBudget: 'syncscope_replication_wal_budget_bytes'
} as const;

export interface ReplicationHealthMetrics {
  /** Sets every series of the reading's target; slots no longer in it lose theirs. */
  record(health: ReplicationHealth): void;
}

export function createReplicationHealthMetrics(registry: Registry): ReplicationHealthMetrics {
  const registers = [registry];
  const m = REPLICATION_HEALTH_METRICS;
  const slotGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['target', 'slot'] as const, registers });
  const targetGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['target'] as const, registers });
  const active = slotGauge(m.slotActive, "1 when a consumer streams from the service's slot, 0 when not.");
  const walStatus = new Gauge({
    name: m.slotWalStatus,
    help: `The slot's wal_status: 1 for the current one of ${WAL_STATUSES.join(', ')}, 0 for the others.`,
    labelNames: ['target', 'slot', 'wal_status'] as const,
    registers
  });
  const retained = slotGauge(
    m.slotRetainedWal,
    'WAL Postgres retains for the slot (current LSN − restart_lsn).'
  );
  const safe = slotGauge(
    m.slotSafeWalSize,
    'WAL that can still be written before the slot is at risk of losing WAL (absent when max_slot_wal_keep_size is unlimited).'
  );
  const flushLag = slotGauge(
    m.slotConfirmedFlushLag,
    'WAL the consumer has not confirmed (current LSN − confirmed_flush_lsn).'
  );
  const abandoned = targetGauge(
    m.slotsAbandoned,
    'Service slots left behind by old rules versions (inactive, not used by the rules the service runs).'
  );
  const lag = targetGauge(
    m.lag,
    "The service's replication lag of its active rules, from its admin diagnostics."
  );
  const checkpointAge = targetGauge(
    m.lastCheckpointAge,
    "Seconds since the active rules' last checkpoint, from the admin diagnostics."
  );
  const budget = targetGauge(
    m.walBudget,
    'The WAL budget the targets file sets for the service slots (replication_health.wal_budget_bytes).'
  );
  const slotsOf = new Map<string, Set<string>>();

  const setOrRemove = (gauge: Gauge<'target'>, target: string, value: number | null | undefined) => {
    if (value === null || value === undefined) gauge.remove({ target });
    else gauge.set({ target }, value);
  };

  return {
    record(health) {
      const target = health.target;
      const now = new Set(health.slots.map((s) => s.slot));
      for (const slot of slotsOf.get(target) ?? []) {
        if (now.has(slot)) continue;
        for (const gauge of [active, retained, safe, flushLag]) gauge.remove({ target, slot });
        for (const status of WAL_STATUSES) walStatus.remove({ target, slot, wal_status: status });
      }
      slotsOf.set(target, now);
      for (const s of health.slots) {
        const labels = { target, slot: s.slot };
        active.set(labels, s.active ? 1 : 0);
        for (const status of WAL_STATUSES)
          walStatus.set({ ...labels, wal_status: status }, s.walStatus === status ? 1 : 0);
        for (const [gauge, value] of [
          [retained, s.retainedWalBytes],
          [safe, s.safeWalSizeBytes],
          [flushLag, s.confirmedFlushLagBytes]
        ] as const) {
          if (value === null) gauge.remove(labels);
          else gauge.set(labels, value);
        }
      }
      // An unreadable source says nothing about slots: no count rather than a reassuring 0.
      const sourceRead = !health.findings.some((f) => f.kind === 'source-unreadable');
      setOrRemove(
        abandoned,
        target,
        sourceRead ? health.slots.filter((s) => s.role === 'abandoned').length : null
      );
      setOrRemove(lag, target, health.service?.active?.replicationLagBytes);
      setOrRemove(checkpointAge, target, health.lastCheckpointAgeSeconds);
      setOrRemove(budget, target, health.walBudgetBytes);
    }
  };
}
