import type { Logger } from '@syncscope/core';
import type { ProbeReport, ProbeTarget } from '@syncscope/core/probe/probe-types';
import { runProbe } from '@syncscope/core/probe/run-probe';
import type { ProbeTokenAuthorisation } from '@syncscope/core/probe/tokens/mint-probe-token';
import { startFaultProxy } from '@syncscope/core/testing/fault-proxy/fault-proxy';
import { mapConcurrently, seededRandom } from './fault-harness.ts';

export interface StreamCutOptions {
  target: ProbeTarget;
  userId: string;
  authorisation: ProbeTokenAuthorisation;
  logger: Logger;
  count: number;
  seed: number;
  concurrency: number;
}

export interface StreamCutProbe {
  /** The cut point (bytes from the service), or null for an uncut probe. */
  offset: number | null;
  report: ProbeReport;
  ms: number;
}

export interface StreamCutRun {
  /** Bytes the service sent the first uncut probe: the cut points are drawn from [0, this). */
  uncutBytes: number;
  uncut: StreamCutProbe;
  cuts: StreamCutProbe[];
}

/** One probe of the user through a proxy of its own, cut (FIN) once after `offset` bytes from the service. */
export async function probeWithCut(o: StreamCutOptions, offset: number | null) {
  const { hostname, port } = new URL(o.target.syncUrl);
  const proxy = await startFaultProxy({ host: hostname, port: Number(port) });
  if (offset !== null) proxy.setFault({ cutAfterBytes: offset });
  const started = performance.now();
  try {
    const report = await runProbe(
      { ...o.target, syncUrl: proxy.httpUrl, adminUrl: proxy.httpUrl },
      o.userId,
      {
        logger: o.logger,
        authorisation: o.authorisation,
        settleMs: 1_500,
        deadlineMs: 60_000
      }
    );
    return { probe: { offset, report, ms: performance.now() - started }, bytes: proxy.bytes.downstream };
  } finally {
    await proxy.close();
  }
}

/**
 * Probes the user once uncut, then `count` times with the bytes from the sync service cut once at a
 * seeded random offset of what the uncut probe received: the preflight, the client's stream, the admin
 * API or the write checkpoint, whichever is passing the offset. Each probe has its own proxy, so they
 * run side by side.
 */
export async function runStreamCuts(o: StreamCutOptions): Promise<StreamCutRun> {
  const uncut = await probeWithCut(o, null);
  const random = seededRandom(o.seed);
  const offsets = Array.from({ length: o.count }, () => Math.floor(random() * uncut.bytes));
  const cuts = await mapConcurrently(
    offsets,
    o.concurrency,
    async (offset) => (await probeWithCut(o, offset)).probe
  );
  return { uncutBytes: uncut.bytes, uncut: uncut.probe, cuts };
}
