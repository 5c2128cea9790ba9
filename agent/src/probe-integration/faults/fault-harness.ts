import type { ProbeReport, ProbeTarget } from '@syncscope/core/probe/probe-types';
import { type RunProbeOptions, runProbe } from '@syncscope/core/probe/run-probe';
import { type FaultProxy, startFaultProxy } from '@syncscope/core/testing/fault-proxy/fault-proxy';
import pino from 'pino';
import type { ProbeHarness } from '../probe-harness.ts';

export const silentLogger = pino({ level: process.env.SYNCSCOPE_TEST_LOG ?? 'silent' });

/** A fault proxy in front of the harness's sync server, and the harness's target reaching it through it. */
export async function proxiedSync(h: ProbeHarness): Promise<{ proxy: FaultProxy; target: ProbeTarget }> {
  const { hostname, port } = new URL(h.target.syncUrl);
  const proxy = await startFaultProxy({ host: hostname, port: Number(port) });
  return { proxy, target: { ...h.target, syncUrl: proxy.httpUrl, adminUrl: proxy.httpUrl } };
}

/** A fault proxy in front of the harness's source Postgres, and the target reading the source through it. */
export async function proxiedSource(h: ProbeHarness): Promise<{ proxy: FaultProxy; target: ProbeTarget }> {
  const { hostname, port } = new URL(h.target.sourceUrl);
  const proxy = await startFaultProxy({ host: hostname, port: Number(port) });
  return { proxy, target: { ...h.target, sourceUrl: proxy.postgresUrl(h.target.sourceUrl) } };
}

export function probeThrough(
  h: ProbeHarness,
  target: ProbeTarget,
  userId: string,
  options: Partial<RunProbeOptions> = {}
): Promise<ProbeReport> {
  return runProbe(target, userId, {
    logger: silentLogger,
    authorisation: h.authorisation,
    settleMs: 1_500,
    deadlineMs: 30_000,
    ...options
  });
}

/** Verdicts (and reason codes) counted, for the figure a fault test prints. */
export function countVerdicts(reports: readonly ProbeReport[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of reports) {
    const reason = (r as { reason?: { code: string } }).reason?.code ?? r.error?.code;
    const key = reason ? `${r.verdict} (${reason})` : r.verdict;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** mulberry32: the same seed gives the same fault points on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `task` over `items`, at most `concurrency` at a time, results in the items' order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
