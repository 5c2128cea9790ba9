/**
 * What the service's admin API (and the source's replication slot) tell the probe: whether the service
 * can serve the user at all (initial replication, a rules version reprocessing), which rules it serves,
 * and whether rows that stayed different are explained by stalled replication.
 */
import pg from 'pg';
import { fetchCurrentRules, fetchDiagnostics, hasAdminApi } from '../service-admin/admin-client.ts';
import {
  type CurrentRules,
  type ReplicationConnection,
  rulesVersionOfSlot,
  type ServiceDiagnostics
} from '../service-admin/admin-schemas.ts';
import type { PhaseResult } from './classify-outcome.ts';
import type { ProbeTarget, ReplicationEvidence, ServiceEvidence } from './probe-types.ts';

export interface ServiceCheck {
  result: PhaseResult;
  evidence?: ServiceEvidence;
  diagnostics?: ServiceDiagnostics;
  /** The rules the service serves, when they differ from the target's. */
  servedRules?: string;
  /** The version the service serves them as: its bucket ids' prefix (`2#…` after a redeploy). */
  servedVersion?: number;
  warnings: string[];
}

const versionName = (slot: string | undefined) => {
  const version = rulesVersionOfSlot(slot);
  return `${version === null ? 'rules' : `rules version ${version}`}${slot ? ` (slot ${slot})` : ''}`;
};

/** The admin API's view before the probe: can the service serve anyone now, and with which rules? */
export async function checkService(target: ProbeTarget, signal: AbortSignal): Promise<ServiceCheck> {
  if (!hasAdminApi(target)) return { result: { event: 'ok' }, warnings: [] };
  let diagnostics: ServiceDiagnostics;
  let rules: CurrentRules;
  try {
    [diagnostics, rules] = await Promise.all([
      fetchDiagnostics(target, { signal }),
      fetchCurrentRules(target, { signal })
    ]);
  } catch (error) {
    // The admin API is evidence, not a precondition: the probe runs without it.
    return {
      result: { event: 'ok' },
      warnings: [`No admin API evidence: ${(error as Error).message}`]
    };
  }
  const active = diagnostics.active_sync_rules?.connections[0];
  const deploying = diagnostics.deploying_sync_rules?.connections[0];
  const evidence: ServiceEvidence = {
    ...(active?.slot_name ? { activeSlot: active.slot_name } : {}),
    ...((deploying?.slot_name ?? rules.next?.slot_name)
      ? { deployingSlot: deploying?.slot_name ?? rules.next?.slot_name }
      : {}),
    initialReplicationDone:
      diagnostics.active_sync_rules?.connections.every((c) => c.initial_replication_done) ?? false,
    rulesFromService: false
  };
  const served = rules.current?.content;
  const differs = served !== undefined && served.trim() !== target.syncRulesYaml.trim();
  const warnings = differs
    ? [
        `The service serves other sync rules than ${target.syncRulesFile ?? "the target's"} (${versionName(rules.current?.slot_name)}): the probe compared against the rules the service serves.`
      ]
    : [];
  evidence.rulesFromService = differs;
  const servedVersion = rulesVersionOfSlot(rules.current?.slot_name) ?? undefined;
  const base = {
    evidence,
    diagnostics,
    warnings,
    ...(differs ? { servedRules: served } : {}),
    ...(servedVersion !== undefined ? { servedVersion } : {})
  };
  return { ...base, result: serviceState(diagnostics, rules) };
}

/** Initial replication or a rules version reprocessing, from diagnostics (and `next`); else ok. */
export function serviceState(diagnostics: ServiceDiagnostics, rules: CurrentRules | null): PhaseResult {
  const active = diagnostics.active_sync_rules;
  if (!active || active.connections.some((c) => !c.initial_replication_done)) {
    return {
      event: 'initial-replication',
      message: `The sync service is still copying its initial snapshot of the source (${versionName(active?.connections[0]?.slot_name)}): users cannot sync until initial replication is done, so the probe cannot tell yet.`
    };
  }
  const deploying = diagnostics.deploying_sync_rules?.connections[0];
  const nextSlot = deploying?.slot_name ?? rules?.next?.slot_name;
  if (diagnostics.deploying_sync_rules || rules?.next) {
    return {
      event: 'reprocessing',
      message: `The sync service is reprocessing newly deployed ${versionName(nextSlot)} while ${versionName(active.connections[0]?.slot_name)} still serves; clients switch when it is done (${deploying?.initial_replication_done ? 'any moment now' : 'its snapshot is still being copied'}). Probe again after the switch.`
    };
  }
  return { event: 'ok' };
}

/** Diagnostics again (after the sync failed, or differences persisted): did the service's state change? */
export async function recheckService(
  target: ProbeTarget,
  signal: AbortSignal
): Promise<ServiceDiagnostics | null> {
  if (!hasAdminApi(target)) return null;
  const [diagnostics, rules] = await Promise.all([
    fetchDiagnostics(target, { signal }).catch(() => null),
    fetchCurrentRules(target, { signal }).catch(() => null)
  ]);
  if (!diagnostics) return null;
  // `next` counts as reprocessing even if diagnostics were read a moment before it appeared.
  return rules?.next && !diagnostics.deploying_sync_rules
    ? { ...diagnostics, deploying_sync_rules: { connections: [], errors: [] } }
    : diagnostics;
}

/** The slot's confirmed-flush lag in bytes, read as the probe's source role; null when not readable. */
export async function slotLag(
  sourceUrl: string,
  slotName: string | undefined
): Promise<{ name: string; confirmedFlushLagBytes: number | null } | undefined> {
  const client = new pg.Client({ connectionString: sourceUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    // Without a slot name (the dev server's diagnostics), the most behind slot of this database.
    const { rows } = await client.query<{ slot_name: string; lag: string | null }>(
      `SELECT slot_name, (pg_current_wal_lsn() - confirmed_flush_lsn)::text AS lag FROM pg_replication_slots
        WHERE database = current_database() AND ($1::text IS NULL OR slot_name = $1)
        ORDER BY pg_current_wal_lsn() - confirmed_flush_lsn DESC NULLS LAST LIMIT 1`,
      [slotName ?? null]
    );
    const row = rows[0];
    return row
      ? { name: row.slot_name, confirmedFlushLagBytes: row.lag === null ? null : Number(row.lag) }
      : undefined;
  } catch {
    return undefined; // the role may not see it (a standby, or a restricted view): evidence, not required
  } finally {
    await client.end().catch(() => {});
  }
}

/** A last checkpoint this old, with the lag growing, means replication stopped applying changes. */
export const STALLED_AFTER_SECONDS = 30;

/**
 * The replication evidence for a report, and whether it says replication has stalled: the last
 * checkpoint old and the lag growing (the real service), the oldest change waiting longer than the
 * settle window (the dev server reports that directly), or the write checkpoint not echoed.
 */
export function replicationEvidence(input: {
  before?: ServiceDiagnostics;
  after?: ServiceDiagnostics | null;
  writeCheckpointEchoed: boolean | null;
  slot?: ReplicationEvidence['slot'];
  settleMs: number;
  now?: number;
}): { evidence: ReplicationEvidence; stalled: boolean } {
  const now = input.now ?? Date.now();
  const connection = (d?: ServiceDiagnostics | null): ReplicationConnection | undefined =>
    d?.active_sync_rules?.connections[0];
  const before = connection(input.before);
  const after = connection(input.after) ?? before;
  const lastCheckpointAt = after?.last_checkpoint_ts;
  const checkpointAge = lastCheckpointAt
    ? Math.round((now - Date.parse(lastCheckpointAt)) / 1000)
    : undefined;
  const lagSeconds = after?.replication_lag_seconds ?? undefined;
  const evidence: ReplicationEvidence = {
    ...(before?.replication_lag_bytes !== undefined ? { lagBytesBefore: before.replication_lag_bytes } : {}),
    ...(input.after && after?.replication_lag_bytes !== undefined
      ? { lagBytesAfter: after.replication_lag_bytes }
      : {}),
    ...(lagSeconds !== undefined && lagSeconds !== null ? { lagSeconds: Math.round(lagSeconds) } : {}),
    ...(lastCheckpointAt ? { lastCheckpointAt, lastCheckpointAgeSeconds: checkpointAge } : {}),
    writeCheckpointEchoed: input.writeCheckpointEchoed,
    ...(input.slot ? { slot: input.slot } : {})
  };
  const lagGrowing =
    evidence.lagBytesAfter !== undefined &&
    evidence.lagBytesBefore !== undefined &&
    evidence.lagBytesAfter > evidence.lagBytesBefore;
  let since: number | null = null;
  let stalled = true;
  if (checkpointAge !== undefined && checkpointAge >= STALLED_AFTER_SECONDS && lagGrowing) {
    since = Date.parse(lastCheckpointAt!);
  } else if (
    evidence.lagSeconds !== undefined &&
    evidence.lagSeconds * 1000 > Math.max(input.settleMs, 1_000)
  ) {
    since = now - evidence.lagSeconds * 1000;
  } else if (input.writeCheckpointEchoed === false) {
    // Stalled, since a time only a last checkpoint can tell.
    since = lastCheckpointAt ? Date.parse(lastCheckpointAt) : null;
  } else {
    stalled = false;
  }
  if (since !== null) evidence.stalledSince = new Date(since).toISOString();
  return { evidence, stalled };
}

/** "Replication has stalled since 14:02:11 UTC (lag 93 s, write checkpoint not echoed)". */
export function stalledSentence(evidence: ReplicationEvidence, now: number = Date.now()): string {
  const since = evidence.stalledSince ? Date.parse(evidence.stalledSince) : null;
  const slot = evidence.slot;
  const parts = [
    ...(since !== null ? [`lag ${Math.max(0, Math.round((now - since) / 1000))} s`] : []),
    ...(evidence.lagBytesAfter !== undefined
      ? [`${evidence.lagBytesAfter.toLocaleString('en-US')} bytes behind`]
      : []),
    ...(slot && slot.confirmedFlushLagBytes !== null
      ? [`slot ${slot.name} ${slot.confirmedFlushLagBytes.toLocaleString('en-US')} bytes unconfirmed`]
      : []),
    evidence.writeCheckpointEchoed === false ? 'write checkpoint not echoed' : 'write checkpoint echoed'
  ];
  const when = since !== null ? ` since ${new Date(since).toISOString().slice(11, 19)} UTC` : '';
  return `Replication has stalled${when} (${parts.join(', ')}): the rows the user holds are stale.`;
}
