import type { Logger } from '@syncscope/core';
import type { ProbeReport, ProbeTarget } from '@syncscope/core/probe/probe-types';
import { runProbe } from '@syncscope/core/probe/run-probe';
import type { ProbeTokenAuthorisation } from '@syncscope/core/probe/tokens/mint-probe-token';
import type { DevSyncServer } from '@syncscope/powersync/dev-sync-server';

export interface RedeployRun {
  /** Probes that started while the new version reprocessed, then the ones after the switch. */
  during: ProbeReport[];
  after: ProbeReport[];
  reprocessMs: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
}

/**
 * Deploys `rules` on the server (a new version reprocessing every table, the old one serving meanwhile)
 * and probes the user back to back until the switch, then `afterSwitch` more times; this process's RSS
 * (server, replication, probes) is sampled throughout.
 */
export async function probeThroughRedeploy(o: {
  server: DevSyncServer;
  target: ProbeTarget;
  userId: string;
  authorisation: ProbeTokenAuthorisation;
  logger: Logger;
  rules: string;
  afterSwitch?: number;
}): Promise<RedeployRun> {
  const rssBeforeBytes = process.memoryUsage().rss;
  let peakRssBytes = rssBeforeBytes;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }, 50);
  const probe = () =>
    runProbe(o.target, o.userId, {
      logger: o.logger,
      authorisation: o.authorisation,
      settleMs: 1_500,
      deadlineMs: 60_000
    });
  try {
    const started = performance.now();
    let switchedAt: number | null = null;
    const switched = new Promise<void>((resolve) =>
      o.server.versions.once('switched', () => {
        switchedAt = performance.now();
        resolve();
      })
    );
    await o.server.deploy(o.rules);
    const during: ProbeReport[] = [];
    while (switchedAt === null) during.push(await probe());
    await switched;
    const after: ProbeReport[] = [];
    for (let i = 0; i < (o.afterSwitch ?? 1); i++) after.push(await probe());
    return {
      during,
      after,
      reprocessMs: (switchedAt ?? started) - started,
      rssBeforeBytes,
      peakRssBytes
    };
  } finally {
    clearInterval(sampler);
  }
}
