import os from 'node:os';
import type { Logger } from '@syncscope/core';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { ReplicationHealthReader } from '@syncscope/core/replication-health/read-replication-health';
import { storeReplicationHealth } from '@syncscope/core/replication-health/replication-health-store';
import {
  REPLICATION_HEALTH_DEFAULTS,
  type ReplicationHealth
} from '@syncscope/core/replication-health/replication-health-types';
import type { Registry } from 'prom-client';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';
import { pollEachTarget } from '../worker/poll-each-target.ts';
import { createReplicationHealthMetrics } from './replication-health-metrics.ts';

export interface ReplicationHealthPoller {
  /** Reads every target once now (what each timer does), and resolves when all are recorded. */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Watches every target's replication: each `replication_health.every_seconds` (default 30) it reads the
 * service's slots from the source and the admin API's diagnostics, exports them as metrics, stores the
 * reading in the ops database for the console's overview, and logs findings when they change. The target
 * is resolved again for every reading, so edits apply without a restart.
 */
export async function startReplicationHealthPoller(options: {
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  registry: Registry;
  ops?: OpsDatabase;
  agentName?: string;
}): Promise<ReplicationHealthPoller> {
  const agent = options.agentName ?? `${os.hostname()}:${process.pid}`;
  const log = options.logger.child({ part: 'replication-health' });
  const metrics = createReplicationHealthMetrics(options.registry);
  const reader = new ReplicationHealthReader();
  const lastFindings = new Map<string, string>();

  const record = async (health: ReplicationHealth) => {
    metrics.record(health);
    const said = health.findings.map((f) => `${f.kind}:${f.slot ?? ''}`).join(' ');
    if (said !== lastFindings.get(health.target)) {
      lastFindings.set(health.target, said);
      for (const f of health.findings)
        log[f.severity === 'info' ? 'info' : 'warn'](
          { target: health.target, slot: f.slot },
          options.scrubber.scrub(f.message)
        );
    }
    if (options.ops)
      await storeReplicationHealth(options.ops.pool, health, agent).catch((error: Error) =>
        log.warn({ target: health.target, err: error.message }, 'replication health not stored')
      );
  };

  /** One reading of a target; returns the seconds until its next. */
  const readTarget = async (name: string): Promise<number> => {
    try {
      const target = await resolveTarget(options.targets, name, options.scrubber);
      await record(await reader.read(target));
      return target.replicationHealth?.everySeconds ?? REPLICATION_HEALTH_DEFAULTS.everySeconds;
    } catch (error) {
      log.warn(
        { target: name, err: options.scrubber.scrub((error as Error).message) },
        'replication health not read'
      );
      return REPLICATION_HEALTH_DEFAULTS.everySeconds;
    }
  };

  return pollEachTarget(await targetNames(options.targets), readTarget);
}
