import type pg from 'pg';
import {
  SERVICE_SLOT_PREFIX,
  type SlotReading,
  WAL_STATUSES,
  type WalStatus
} from './replication-health-types.ts';

type Queryable = Pick<pg.Client, 'query'>;

interface SlotRow {
  slot_name: string;
  active: boolean;
  wal_status: string | null;
  safe_wal_size: string | null;
  restart_lsn: string | null;
  confirmed_flush_lsn: string | null;
  retained: string | null;
  flush_lag: string | null;
  inactive_since: string | null;
}

/**
 * The current WAL position: on a standby (logical slots exist there since Postgres 16)
 * pg_current_wal_lsn() refuses, and the replayed position is what its slots are measured against.
 */
const CURRENT_LSN =
  'CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END';

function slotQuery(hasInactiveSince: boolean): string {
  // Postgres 17 records when a slot became inactive; before that the caller remembers when it first saw it.
  const inactiveSince = hasInactiveSince
    ? `to_char(inactive_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : 'NULL';
  return `SELECT slot_name::text, active, wal_status, safe_wal_size::text,
       restart_lsn::text, confirmed_flush_lsn::text,
       pg_wal_lsn_diff(${CURRENT_LSN}, restart_lsn)::bigint::text AS retained,
       pg_wal_lsn_diff(${CURRENT_LSN}, confirmed_flush_lsn)::bigint::text AS flush_lag,
       ${inactiveSince} AS inactive_since
     FROM pg_replication_slots
     WHERE database = current_database() AND slot_type = 'logical' AND starts_with(slot_name::text, $1)
     ORDER BY slot_name`;
}

const toNumber = (text: string | null) => (text === null ? null : Number(text));

/**
 * The PowerSync service's logical slots in the source database (names starting `powersync_`), with the
 * WAL each retains and its consumer's lag. pg_replication_slots and the WAL functions need no grant:
 * any role that can connect may read them (tested with the least-privilege source role).
 */
export async function readServiceSlots(client: Queryable): Promise<SlotReading[]> {
  const version = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  const { rows } = await client.query<SlotRow>(slotQuery(Number(version.rows[0]!.v) >= 170000), [
    SERVICE_SLOT_PREFIX
  ]);
  return rows.map((r) => ({
    slot: r.slot_name,
    active: r.active,
    walStatus: (WAL_STATUSES as readonly string[]).includes(r.wal_status ?? '')
      ? (r.wal_status as WalStatus)
      : null,
    safeWalSizeBytes: toNumber(r.safe_wal_size),
    restartLsn: r.restart_lsn,
    confirmedFlushLsn: r.confirmed_flush_lsn,
    retainedWalBytes: toNumber(r.retained),
    confirmedFlushLagBytes: toNumber(r.flush_lag),
    inactiveSince: r.active ? null : r.inactive_since
  }));
}
