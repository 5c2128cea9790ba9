import type { ProbeReport } from '../probe/probe-types.ts';
import type { StreamSubscription } from '../sync-rules/stream-subscriptions.ts';

/** What a compact report keeps of its buckets: counts, and counts per rule (see migration 14). */
export interface CompactBuckets {
  expectedCount: number;
  actualCount: number;
  /** Expected buckets per bucket definition or sync stream. */
  byRule: Record<string, number>;
  overLimit: boolean;
}

/**
 * A consistent read probe's report as `syncscope.compact_probe_report` stores it: the report without
 * its bucket lists and without the fields the run's own columns hold.
 */
export type CompactStoredReport = Omit<
  ProbeReport,
  | 'target'
  | 'userId'
  | 'verdict'
  | 'summary'
  | 'startedAt'
  | 'durationMs'
  | 'subscriptions'
  | 'buckets'
  | 'token'
  | 'sync'
  | 'service'
  | 'replication'
> & {
  compact: true;
  buckets: CompactBuckets;
  token: Pick<ProbeReport['token'], 'kid' | 'jti'>;
  sync: Pick<ProbeReport['sync'], 'kind'>;
};

/** A read report as readers get it back: whole, or expanded from its compact form (`compactBuckets`). */
export type ExpandedReport<R extends Pick<ProbeReport, 'buckets'> = ProbeReport> = R & {
  compactBuckets?: CompactBuckets;
};

/** The run's columns a compact report leaves out. */
export interface StoredRunColumns {
  target: string;
  userId: string;
  verdict: string;
  summary: string;
  startedAt: Date | string;
  durationMs: number;
  subscriptions: StreamSubscription[];
}

export function isCompactReport(report: object): report is CompactStoredReport {
  return (report as { compact?: unknown }).compact === true;
}

/**
 * The report a compact one stands for, from the run's columns: bucket lists empty (no bucket ids are kept
 * for a consistent run) and `compactBuckets` with their counts; the token without expiry and audience,
 * the sync outcome as its kind. Any other report is returned as it is.
 */
export function expandCompactReport<R extends Pick<ProbeReport, 'buckets'>>(
  stored: R | CompactStoredReport,
  run: StoredRunColumns
): ExpandedReport<R> {
  if (!isCompactReport(stored)) return stored;
  const { compact: _compact, buckets, token, ...rest } = stored;
  return {
    ...rest,
    token: { ...token, expiresAt: '', audience: '' },
    target: run.target,
    userId: run.userId,
    verdict: run.verdict,
    summary: run.summary,
    startedAt: new Date(run.startedAt).toISOString(),
    durationMs: run.durationMs,
    subscriptions: run.subscriptions,
    buckets: { expected: [], actual: [], differences: [], overLimit: buckets.overLimit },
    compactBuckets: buckets
  } as unknown as ExpandedReport<R>;
}
