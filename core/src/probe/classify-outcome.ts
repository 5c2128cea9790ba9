/**
 * What a phase's result means for the lifecycle (probe-lifecycle.ts): a sync outcome, or something a
 * phase threw, as an event with one sentence for a person. The verdict itself is the table's.
 */
import type { ErrorCode } from '../errors/error-codes.ts';
import { isSyncScopeError } from '../errors/index.ts';
import type { ProbeEvent } from './probe-lifecycle.ts';
import type { ExpectedState, SyncOutcome } from './probe-types.ts';

export interface PhaseResult {
  event: ProbeEvent;
  /** For a verdict: the sentence behind its reason. */
  message?: string;
  /** For events whose reason the event carries (differences, invalid input). */
  code?: ErrorCode;
}

/** SQLSTATEs and socket errors of a session that ended under the probe (not a failed query). */
const SESSION_LOST = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE']);

/** A thrown error as the event it stands for. */
export function errorEvent(error: unknown): PhaseResult {
  const e = error as { code?: unknown; message?: string; cause?: unknown };
  const message = e?.message ?? String(error);
  if (isSyncScopeError(error)) {
    if (error.code === 'SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT') return { event: 'source-timeout', message };
    if (error.code === 'SYNCSCOPE_E_INTERNAL_ERROR') return { event: 'bug', message };
    if (isSessionLost(error.cause)) return sessionLost(error.cause);
    return { event: 'invalid-input', code: error.code, message };
  }
  if (typeof e?.code === 'string' && e.code === '57014') return { event: 'source-timeout', message };
  if (isSessionLost(error)) return sessionLost(error);
  return { event: 'bug', message };
}

function isSessionLost(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  return (
    SESSION_LOST.has(code) ||
    code.startsWith('08') ||
    (typeof e?.message === 'string' &&
      /Connection terminated|terminating connection due to administrator command|encountered a connection error/i.test(
        e.message
      ))
  );
}

function sessionLost(error: unknown): PhaseResult {
  const e = error as { code?: string; message?: string };
  return {
    event: 'source-session-lost',
    message: `The probe's session on the source Postgres ended before its snapshot was read (${e.code ? `${e.code}: ` : ''}${e.message}); the probe can be retried.`
  };
}

/** How the probe's sync ended, as an event; `expected` names the rule behind a bucket limit. */
export function syncOutcomeEvent(outcome: SyncOutcome, expected: ExpectedState | null): PhaseResult {
  switch (outcome.kind) {
    case 'synced':
      return { event: 'ok' };
    case 'auth-rejected':
      return {
        event: 'token-refused',
        message: `The sync service refused the probe token (HTTP ${outcome.httpStatus}${outcome.code ? ` ${outcome.code}` : ''}: ${outcome.message}). Check that the signing key and kid of the target match a key the service trusts (the agent publishes its public half at /.well-known/jwks.json for client_auth.jwks_uri), and that the audience is in client_auth.audience.`
      };
    case 'token-expiring':
      return {
        event: 'token-refused',
        message:
          'The probe token was already expired when the service saw it: check the clock of this machine against the service.'
      };
    case 'service-error':
      if (outcome.code === 'PSYNC_S2305')
        return { event: 'bucket-limit', message: bucketLimitMessage(outcome, expected) };
      return {
        event: 'unreachable',
        message: `The sync service failed the stream with HTTP ${outcome.httpStatus} ${outcome.code ?? ''}: ${outcome.message}.`
      };
    case 'unreachable':
      return { event: 'unreachable', message: `The sync service is unreachable: ${outcome.message}.` };
    case 'stream-unstable':
      return {
        event: 'stream-unstable',
        message: `The probe's sync stream kept failing (${outcome.errors} errors, last: ${outcome.lastError}) and never completed a checkpoint in ${outcome.seconds} s.`
      };
    case 'no-progress':
      return {
        event: 'stream-unstable',
        message: `The client made no sync progress for ${outcome.seconds} s and never completed a checkpoint.`
      };
    case 'checksum-failure-loop':
      return {
        event: 'checksum-loop',
        message: `The client is stuck in a checksum-failure loop (${outcome.failures} failures) on ${outcome.buckets.join(', ')}: the service's bucket checksums do not match the operations it sends (a service fault; the client never completes a checkpoint).`
      };
    case 'aborted':
      return { event: 'deadline' }; // the probe's signal decides which
    case 'write-checkpoint-not-echoed':
      return { event: 'bug', message: 'the sync phase reported a write checkpoint outcome' };
  }
}

/**
 * PSYNC_S2305 names no rule (only the service's log breaks it down by definition), so the probe names
 * the bucket definition that gives this user most buckets by the source and the rules.
 */
function bucketLimitMessage(
  outcome: Extract<SyncOutcome, { kind: 'service-error' }>,
  expected: ExpectedState | null
): string {
  const head = `The sync service refused the user's sync with PSYNC_S2305: ${outcome.message}. The user's clients cannot sync at all.`;
  if (!expected) return head;
  const byDefinition = new Map<string, number>();
  for (const b of expected.buckets) byDefinition.set(b.definition, (byDefinition.get(b.definition) ?? 0) + 1);
  // A parameter query over the limit fails before any bucket exists: its results count instead.
  for (const p of expected.parameterEvidence) {
    const results = Math.max(p.produced.length, p.matchedRows.length);
    if (results > (byDefinition.get(p.definition) ?? 0)) byDefinition.set(p.definition, results);
  }
  const ranked = [...byDefinition].sort((a, b) => b[1] - a[1]);
  const [top, ...rest] = ranked;
  if (!top) return head;
  const others = rest.map(([d, n]) => `${d}: ${n.toLocaleString('en-US')}`).join(', ');
  return `${head} Bucket definition ${top[0]} gives most buckets (${top[1].toLocaleString('en-US')}${others ? `; ${others}` : ''}): narrow it, or raise api.parameters.max_buckets_per_connection.`;
}
