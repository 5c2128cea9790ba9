import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '@syncscope/core';
import { removeCanaryStatus, storeCanaryStatus } from '@syncscope/core/canary/canary-status-store';
import { FreshnessWatch, markerText, writeFreshnessMarker } from '@syncscope/core/canary/freshness-marker';
import { type CanaryStatus, HeldCanary } from '@syncscope/core/canary/held-canary';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import type { Registry } from 'prom-client';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { assertTargetStreams, auditUnavailable } from '../probe/probe-target.ts';
import { resolveTarget, type TargetsSource, targetNames } from '../probe/resolve-target.ts';
import { type CanaryMetrics, createCanaryMetrics } from './canary-metrics.ts';

export interface CanaryHolder {
  /** The canaries held, by target. */
  readonly held: ReadonlyMap<string, readonly HeldCanary[]>;
  /** Writes each freshness-enabled target's marker now (what its timer does). */
  writeMarkersNow(): Promise<void>;
  stop(): Promise<void>;
}

interface HolderContext {
  targets: TargetsSource;
  log: Logger;
  scrubber: SecretScrubber;
  metrics: CanaryMetrics;
  ops: OpsDatabase;
  agent: string;
}

/** The marker row's id: one per target and host, so restarts overwrite it instead of adding rows. */
function markerRowId(target: string): string {
  const h = createHash('sha256')
    .update(`syncscope-freshness\u0000${target}\u0000${os.hostname()}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Holds every target's `canaries` (core/src/canary/held-canary.ts) for the life of the agent: their
 * statuses go to `syncscope_canaries{target,verdict}` and the ops table `canary_status`, and a target
 * with `canaries.freshness` gets a marker written through its write path every `every_seconds`, timed
 * to each canary's stream (`syncscope_freshness_seconds`). Tokens are audited as actor
 * `canary:<agent name>`; without an ops database nothing is held (no unaudited tokens). Targets are read
 * at start: a changed `canaries` key applies at the agent's next start.
 */
export async function startCanaries(options: {
  targets: TargetsSource;
  logger: Logger;
  scrubber: SecretScrubber;
  registry: Registry;
  ops?: OpsDatabase;
  agentName?: string;
}): Promise<CanaryHolder> {
  const agent = options.agentName ?? `${os.hostname()}:${process.pid}`;
  const log = options.logger.child({ part: 'canaries' });
  const metrics = createCanaryMetrics(options.registry);
  const held = new Map<string, HeldCanary[]>();
  const markers = new Map<string, () => Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  for (const name of await targetNames(options.targets)) {
    const target = await resolveTarget(options.targets, name, options.scrubber).catch((error: Error) => {
      log.warn({ target: name, err: error.message }, 'target not loadable; no canaries held for it');
      return null;
    });
    if (!target?.canaries) continue;
    if (!options.ops) {
      log.warn({ target: name, err: auditUnavailable('A live canary').message }, 'no canaries held');
      continue;
    }
    const ctx = { ...options, log, metrics, ops: options.ops, agent };
    const { canaries, writeMarker } = await holdTarget(ctx, target);
    held.set(name, canaries);
    if (writeMarker) {
      markers.set(name, writeMarker);
      timers.push(setInterval(() => void writeMarker(), target.canaries.freshnessEveryMs));
    }
  }
  return {
    held,
    async writeMarkersNow() {
      await Promise.all([...markers.values()].map((write) => write()));
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const [target, canaries] of held) {
        await Promise.all(canaries.map((c) => c.close()));
        for (const c of canaries)
          await removeCanaryStatus(options.ops!.pool, target, c.status.userId, agent).catch(() => {});
      }
    }
  };
}

/** One target's canaries started, and its marker writer when it has `canaries.freshness`. */
async function holdTarget(
  ctx: HolderContext,
  target: ProbeTarget
): Promise<{ canaries: HeldCanary[]; writeMarker?: () => Promise<void> }> {
  const settings = target.canaries!;
  const canaries: HeldCanary[] = [];
  const publish = (status: CanaryStatus, freshnessSeconds?: number) => {
    ctx.metrics.statuses(
      target.name,
      canaries.map((c) => c.status)
    );
    void storeCanaryStatus(ctx.ops.pool, status, ctx.agent, freshnessSeconds).catch((error: Error) =>
      ctx.log.warn({ target: target.name, err: error.message }, 'canary status not stored')
    );
  };
  const watch = new FreshnessWatch((userId, seconds) => {
    ctx.metrics.freshness(target.name, seconds);
    const canary = canaries.find((c) => c.status.userId === userId);
    if (canary) publish(canary.status, seconds);
  });
  ctx.metrics.target(target.name);
  for (const user of settings.users) {
    const refused = await assertTargetStreams(target, user.subscriptions).then(
      () => null,
      (error: Error) => error
    );
    if (refused) {
      ctx.log.warn({ target: target.name, err: refused.message }, 'canary not held: unknown stream');
      continue;
    }
    const canary = new HeldCanary({
      target,
      user,
      settings,
      authorisation: {
        actor: `canary:${ctx.agent}`,
        reason: 'live canary (canaries in the targets file)',
        audit: ctx.ops
      },
      onStatus: (status) => publish(status),
      onData: (line, at) => watch.arrived(user.userId, line, at)
    });
    canaries.push(canary);
    canary.start();
  }
  if (!settings.freshnessEveryMs) return { canaries };
  const rowId = markerRowId(target.name);
  let seq = 0;
  const writeMarker = async () => {
    try {
      // Read again for each marker: the upload credential is rotated into its file.
      const fresh = await resolveTarget(ctx.targets, target.name, ctx.scrubber);
      const marker = markerText(++seq, Date.now());
      const written = await writeFreshnessMarker(fresh, rowId, marker);
      watch.expect(written, fresh.writeProbe!.table, fresh.writeProbe!.markerColumn);
    } catch (error) {
      ctx.metrics.markerFailed(target.name);
      ctx.log.warn(
        { target: target.name, err: ctx.scrubber.scrub((error as Error).message) },
        'freshness marker not written'
      );
    }
  };
  return { canaries, writeMarker };
}
