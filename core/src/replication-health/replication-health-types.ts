/**
 * What SyncScope knows about a target's replication: the service's logical slots as the source Postgres
 * reports them, the service's own view from its admin diagnostics, and the findings an operator acts on.
 */

/** Postgres's `wal_status` of a slot (13+): how safe the WAL it needs is. */
export const WAL_STATUSES = ['reserved', 'extended', 'unreserved', 'lost'] as const;
export type WalStatus = (typeof WAL_STATUSES)[number];

/** Polling and judging defaults (seconds, bytes). */
export const REPLICATION_HEALTH_DEFAULTS = {
  everySeconds: 30,
  /**
   * Without slot names from the admin API, a service slot counts as left behind once it has been
   * inactive this long: a restarting service reconnects within seconds (a killed one holds its lock
   * for 60 s), so ten minutes is well past any restart.
   */
  inactiveGraceSeconds: 600,
  /** A source session reads three catalog views; it should never need long. */
  statementTimeoutMs: 10_000
} as const;

/** The service names its slots `powersync_<rules version>_<4 hex>` (its default slot_name_prefix). */
export const SERVICE_SLOT_PREFIX = 'powersync_';

/** One logical slot of the source database, as pg_replication_slots shows it. */
export interface SlotReading {
  slot: string;
  active: boolean;
  walStatus: WalStatus | null;
  /** Bytes that can still be written before this slot's WAL is at risk; null when unlimited. */
  safeWalSizeBytes: number | null;
  restartLsn: string | null;
  confirmedFlushLsn: string | null;
  /** WAL Postgres keeps for this slot: current LSN − restart_lsn. */
  retainedWalBytes: number | null;
  /** WAL the consumer has not confirmed: current LSN − confirmed_flush_lsn. */
  confirmedFlushLagBytes: number | null;
  /** Since when the slot is unused (Postgres 17's inactive_since, or when SyncScope first saw it so). */
  inactiveSince: string | null;
}

/** One sync-rules version's replication as the service's admin diagnostics report it. */
export interface ServiceReplication {
  slot: string | null;
  initialReplicationDone: boolean | null;
  replicationLagBytes: number | null;
  lastCheckpointAt: string | null;
  walStatus: string | null;
}

/** The service's view: the active rules' replication and, during a redeploy, the deploying rules'. */
export interface ServiceView {
  active: ServiceReplication | null;
  deploying: ServiceReplication | null;
}

export type FindingSeverity = 'critical' | 'warning' | 'info';

export interface ReplicationFinding {
  severity: FindingSeverity;
  /** Stable kind, for tests and filters. */
  kind:
    | 'slot-abandoned'
    | 'wal-status'
    | 'wal-over-budget'
    | 'slot-inactive'
    | 'slot-missing'
    | 'initial-replication'
    | 'deploying'
    | 'source-unreadable'
    | 'admin-unreadable';
  slot?: string;
  message: string;
}

export interface SlotHealth extends SlotReading {
  /** Which rules version uses it: the active one, the deploying one, or none (left behind). */
  role: 'active' | 'deploying' | 'abandoned' | 'unknown';
}

export interface ReplicationHealth {
  target: string;
  observedAt: string;
  slots: SlotHealth[];
  /** null when the target has no admin API, or it could not be read (a finding says why). */
  service: ServiceView | null;
  /** Sum of the service slots' retained WAL. */
  retainedWalBytes: number;
  walBudgetBytes: number | null;
  /** Seconds since the active rules' last checkpoint, from the admin API. */
  lastCheckpointAgeSeconds: number | null;
  findings: ReplicationFinding[];
}
