import pg from 'pg';
import { describeSourceUrl } from '../probe/expected/source-session.ts';
import { type AdminApiTarget, fetchDiagnostics, hasAdminApi } from '../service-admin/admin-client.ts';
import { assessReplicationHealth } from './assess-replication-health.ts';
import { readServiceSlots } from './read-slots.ts';
import {
  REPLICATION_HEALTH_DEFAULTS,
  type ReplicationHealth,
  type ServiceView,
  type SlotReading
} from './replication-health-types.ts';
import { serviceViewOf } from './service-view.ts';

/** What reading a target's replication health needs of it. */
export interface ReplicationHealthTarget extends AdminApiTarget {
  sourceUrl: string;
  replicationHealth?: { walBudgetBytes?: number; inactiveGraceSeconds?: number };
}

async function readSlotsAt(sourceUrl: string): Promise<SlotReading[] | { problem: string }> {
  const client = new pg.Client({
    connectionString: sourceUrl,
    application_name: 'syncscope-replication-health',
    connectionTimeoutMillis: REPLICATION_HEALTH_DEFAULTS.statementTimeoutMs,
    statement_timeout: REPLICATION_HEALTH_DEFAULTS.statementTimeoutMs
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await readServiceSlots(client);
  } catch (error) {
    return {
      problem: `cannot read the replication slots of ${describeSourceUrl(sourceUrl)}: ${(error as Error).message}`
    };
  } finally {
    await client.end().catch(() => {});
  }
}

async function readServiceView(
  target: ReplicationHealthTarget
): Promise<ServiceView | null | { problem: string }> {
  if (!hasAdminApi(target)) return null;
  try {
    return serviceViewOf(
      await fetchDiagnostics(target, { timeoutMs: REPLICATION_HEALTH_DEFAULTS.statementTimeoutMs })
    );
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/**
 * Reads targets' replication health again and again. It remembers when it first saw each slot inactive,
 * for sources before Postgres 17 (which do not record it), so the grace period works there too.
 */
export class ReplicationHealthReader {
  private readonly firstSeenInactive = new Map<string, string>();

  async read(
    target: ReplicationHealthTarget,
    now: () => Date = () => new Date()
  ): Promise<ReplicationHealth> {
    const [slots, service] = await Promise.all([readSlotsAt(target.sourceUrl), readServiceView(target)]);
    const observedAt = now();
    return assessReplicationHealth({
      target: target.name,
      observedAt,
      slots: 'problem' in slots ? slots : this.withInactiveSince(target.name, slots, observedAt),
      service,
      walBudgetBytes: target.replicationHealth?.walBudgetBytes ?? null,
      inactiveGraceSeconds:
        target.replicationHealth?.inactiveGraceSeconds ?? REPLICATION_HEALTH_DEFAULTS.inactiveGraceSeconds
    });
  }

  private withInactiveSince(target: string, slots: SlotReading[], now: Date): SlotReading[] {
    const seen = new Set<string>();
    const result = slots.map((slot) => {
      const key = `${target}\u0000${slot.slot}`;
      if (slot.active) return slot;
      seen.add(key);
      if (!this.firstSeenInactive.has(key))
        this.firstSeenInactive.set(key, slot.inactiveSince ?? now.toISOString());
      return { ...slot, inactiveSince: slot.inactiveSince ?? this.firstSeenInactive.get(key)! };
    });
    for (const key of this.firstSeenInactive.keys())
      if (key.startsWith(`${target}\u0000`) && !seen.has(key)) this.firstSeenInactive.delete(key);
    return result;
  }
}
