import 'server-only';
import { loadTarget } from '@/server/targets';

export interface TargetHealth {
  target: string;
  live: boolean;
  ready: boolean;
  /** From the service's diagnostics (admin API), when configured. */
  replicationLagSeconds: number | null;
  replicationLagBytes: number | null;
  problem: string | null;
}

const TIMEOUT_MS = 1_500;

async function probeUrl(url: URL): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), cache: 'no-store' });
    return response.ok;
  } catch {
    return false;
  }
}

/** Liveness and readiness of the sync service, and replication lag from its diagnostics API. */
export async function targetHealth(name: string): Promise<TargetHealth> {
  const health: TargetHealth = {
    target: name,
    live: false,
    ready: false,
    replicationLagSeconds: null,
    replicationLagBytes: null,
    problem: null
  };
  try {
    const target = await loadTarget(name);
    const [live, ready] = await Promise.all([
      probeUrl(new URL('/probes/liveness', target.syncUrl)),
      probeUrl(new URL('/probes/readiness', target.syncUrl))
    ]);
    Object.assign(health, { live, ready });
    if (!live) health.problem = `The sync service at ${new URL(target.syncUrl).origin} does not answer.`;
    if (target.adminUrl && target.adminToken && live)
      Object.assign(health, await replicationLag(target.adminUrl, target.adminToken));
  } catch (error) {
    health.problem = (error as Error).message;
  }
  return health;
}

async function replicationLag(adminUrl: string, token: string): Promise<Partial<TargetHealth>> {
  try {
    const response = await fetch(new URL('/api/admin/v1/diagnostics', adminUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      cache: 'no-store'
    });
    if (!response.ok) return { problem: `Diagnostics API answered HTTP ${response.status}.` };
    const body = (await response.json()) as {
      data?: {
        active_sync_rules?: {
          connections?: { replication_lag_seconds?: number; replication_lag_bytes?: number }[];
        };
      };
    };
    const connection = body.data?.active_sync_rules?.connections?.[0];
    return {
      replicationLagSeconds: connection?.replication_lag_seconds ?? null,
      replicationLagBytes: connection?.replication_lag_bytes ?? null
    };
  } catch (error) {
    return { problem: `Diagnostics API: ${(error as Error).message}` };
  }
}
