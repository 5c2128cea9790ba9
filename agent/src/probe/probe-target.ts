import { isSyncScopeError, type Logger, SyncScopeError } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { ExpectedStateWorker } from '@syncscope/core/probe/expected/expected-state-worker';
import { SourceSessionPool } from '@syncscope/core/probe/expected/source-session';
import type { ProbeMode } from '@syncscope/core/probe/probe-mode';
import { PROBE_REPORT_VERSION, type ProbeReport, type ProbeTarget } from '@syncscope/core/probe/probe-types';
import { RESERVED_PROBE_CLAIMS } from '@syncscope/core/probe/tokens/mint-probe-token';
import type { LoadedSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import type { StreamSubscription } from '@syncscope/core/sync-rules/stream-subscriptions';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { resolveTarget, type TargetsSource, targetNames } from './resolve-target.ts';

export interface ProbeRequest {
  target: ProbeTarget;
  userId: string;
  /**
   * `full` (default): the real client. `light`: the stream read at the protocol level, its expected state
   * from the process's shared source connections; a difference is confirmed by a full probe.
   */
  mode?: ProbeMode;
  claims?: Record<string, unknown>;
  /** Sync streams the probe's client subscribes to, besides the default streams. */
  subscriptions?: StreamSubscription[];
  deadlineMs?: number;
  /** Stops the probe promptly (a lost job lease): see RunProbeOptions.signal. */
  signal?: AbortSignal;
  logger: Logger;
  metrics?: AgentMetrics;
  /** Where every minted token is audited (who, whom, why, jti) before use, and the run stored. */
  ops: OpsDatabase;
  /** Who asks: `cli:<user>`, `schedule:<agent>`, the console user, the agent API's caller. */
  actor: string;
  reason: string;
  /** The console's job this probe runs for (stored with the run). */
  jobId?: string;
  onPhase?: (phase: string) => void;
  onSyncProgress?: (ops: { done: number; total: number | null }) => void;
  /** Called with the stored run's id. */
  onRecorded?: (runId: string) => void;
  /** The agent's kept thread for expected states (see core's expected-state-worker.ts). */
  expectedStateWorker?: ExpectedStateWorker;
  /** Without a kept thread: helper threads for large tables' parts (default per cores; 0 none). */
  partitionHelpers?: number;
}

/** The ops database named by SYNCSCOPE_OPS_DATABASE_URL, migrated; undefined when none is configured. */
export async function openOpsDatabase(url: string | undefined): Promise<OpsDatabase | undefined> {
  if (!url) return undefined;
  await migrateOpsDatabase(url);
  return new OpsDatabase(url);
}

/** The refusal for a probe with nowhere to audit its token: SyncScope never impersonates unaudited. */
export function auditUnavailable(what: string): SyncScopeError {
  return new SyncScopeError(
    'SYNCSCOPE_E_PROBE_AUDIT_UNAVAILABLE',
    `${what} mints a token that impersonates a user, and every such token is audited first: set SYNCSCOPE_OPS_DATABASE_URL to SyncScope's ops database (the demo target uses the embedded stack's).`
  );
}

/** The ops database for a one-shot probe (the CLI), or the coded refusal when none is configured. */
export async function requireOpsDatabase(url: string | undefined, what: string): Promise<OpsDatabase> {
  const ops = await openOpsDatabase(url);
  if (!ops) throw auditUnavailable(what);
  return ops;
}

/** A report for a probe that failed before or outside the engine (the engine itself never throws). */
export function errorReport(
  target: Pick<ProbeTarget, 'name' | 'audience'> & { signing: { kid: string } },
  userId: string,
  error: unknown,
  startedAt = new Date()
): ProbeReport {
  const code = isSyncScopeError(error) ? error.code : 'SYNCSCOPE_E_INTERNAL_ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return {
    version: PROBE_REPORT_VERSION,
    target: target.name,
    userId,
    verdict: 'error',
    summary: `Probe could not run: ${message}`,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    phases: {},
    token: { kid: target.signing.kid, jti: '', expiresAt: '', audience: target.audience },
    sync: { kind: 'unreachable', message },
    buckets: { expected: [], actual: [], differences: [], overLimit: false },
    rows: { expected: 0, actual: 0, perTable: {}, differences: [] },
    checksums: { bucketMismatches: [], rowMismatches: 0 },
    warnings: [],
    error: { code, message }
  };
}

/**
 * Runs one probe with the engine (core/src/probe/run-probe.ts), logs its phases and minted token ids
 * (never the token), records the metrics and stores the run. Always resolves with a report.
 */
export async function probeTarget(request: ProbeRequest): Promise<ProbeReport> {
  const report = await runProbeTarget(request);
  const runId = await request.ops.recordProbeRun(report, {
    jobId: request.jobId,
    requestedBy: request.actor
  });
  request.logger.info({ target: request.target.name, runId }, 'probe run recorded');
  request.onRecorded?.(runId);
  if (!report.confirmation) return report;
  // Stored as two runs naming each other: the report says so, with both ids.
  const confirmedByRun = (await request.ops.confirmingRunOf(runId)) ?? undefined;
  return { ...report, confirmedByRun, confirmation: { ...report.confirmation, confirmsRun: runId } };
}

/** The source connections every light probe of this process shares (a few per source, kept). */
const lightSessionPool = new SourceSessionPool();

/**
 * probeTarget without storing the run: for the job queue, which stores it under the job's lease. Stops
 * (inconclusive) when `signal` aborts.
 */
export async function runProbeTarget(request: ProbeRequest): Promise<ProbeReport> {
  const { target, userId, logger } = request;
  const log = logger.child({ target: target.name });
  const startedAt = new Date();
  let report: ProbeReport;
  try {
    // Loaded on first use: argument errors and the agent's HTTP surface do not wait for the engine.
    const { runProbe } = await import('@syncscope/core/probe/run-probe');
    report = await runProbe(target, userId, {
      mode: request.mode ?? 'full',
      sessionPool: request.mode === 'light' ? lightSessionPool : undefined,
      claims: request.claims,
      subscriptions: request.subscriptions,
      deadlineMs: request.deadlineMs,
      signal: request.signal,
      logger: log,
      expectedStateWorker: request.expectedStateWorker,
      partitionHelpers: request.partitionHelpers,
      onPhase: (phase) => {
        log.debug({ phase }, 'probe phase');
        request.onPhase?.(phase);
      },
      onSyncProgress: request.onSyncProgress,
      authorisation: { actor: request.actor, reason: request.reason, audit: request.ops }
    });
  } catch (error) {
    log.error({ err: error instanceof Error ? error.message : String(error) }, 'probe engine threw');
    report = { ...errorReport(target, userId, error, startedAt), subscriptions: request.subscriptions ?? [] };
  }
  request.metrics?.record(report);
  log.info({ verdict: report.verdict, durationMs: report.durationMs }, 'probe finished');
  return report;
}

/** The first three reasons, and how many more. */
function some(reasons: string[]): string {
  const more = reasons.length > 3 ? `; and ${reasons.length - 3} more` : '';
  return `${reasons.slice(0, 3).join('; ')}${more}`;
}

/**
 * A warning that the target's source role can write (a superuser, or write grants) or read beyond what
 * the sync rules (and the user search) read, naming the role and the fix; undefined when it is least
 * privilege or the check could not run (the probe itself reports an unreachable database).
 */
export async function sourceRoleWarning(target: ProbeTarget): Promise<string | undefined> {
  try {
    const { checkSourceRoleCanWrite } = await import('@syncscope/core/probe/expected/index');
    const check = await checkSourceRoleCanWrite(target.sourceUrl, await rulesOf(target), target.userSearch);
    const problems = [
      ...(check.canWrite ? [`can write (${some(check.reasons)})`] : []),
      ...(check.readsBeyondRules
        ? [`can read beyond the sync rules' tables (${some(check.readReasons)})`]
        : [])
    ];
    if (problems.length === 0) return undefined;
    return `target "${target.name}": the source_url role ${problems.join(' and ')}. SyncScope only reads what the rules read; print a least-privilege role with \`syncscope source-role --target ${target.name}\`, run it as an admin, and use that role in source_url (docs/targets.md).`;
  } catch {
    return undefined;
  }
}

/** At agent start: the source-role warning of every target that resolves (the others fail at their probe). */
export async function warnAboutSourceRoles(
  source: TargetsSource,
  scrubber: SecretScrubber,
  logger: Logger
): Promise<void> {
  for (const name of await targetNames(source).catch(() => [])) {
    const target = await resolveTarget(source, name, scrubber).catch(() => undefined);
    const warning = target && (await sourceRoleWarning(target));
    if (warning) logger.warn({ target: name }, warning);
  }
}

/**
 * Refuses subscriptions to streams the target's rules do not define, before anything runs (the engine
 * checks again, for callers that skip this).
 */
export async function assertTargetStreams(
  target: ProbeTarget,
  subscriptions: StreamSubscription[]
): Promise<void> {
  if (subscriptions.length === 0) return;
  const { assertSubscribableStreams } = await import('@syncscope/core/sync-rules/stream-subscriptions');
  assertSubscribableStreams((await rulesOf(target)).hydrated, subscriptions);
}

// The last rules parsed: a scheduler checks many users of one target, the agent one request after another.
let parsed: { yaml: string; file?: string; rules: LoadedSyncRules } | null = null;

async function rulesOf(target: ProbeTarget): Promise<LoadedSyncRules> {
  if (parsed?.yaml !== target.syncRulesYaml || parsed.file !== target.syncRulesFile) {
    const { loadSyncRules } = await import('@syncscope/core/sync-rules/load-sync-rules');
    const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
    parsed = { yaml: target.syncRulesYaml, file: target.syncRulesFile, rules };
  }
  return parsed.rules;
}

/** CLI exit code for a report: 0 consistent, 1 mismatch, 2 the probe could not run. */
export function parseClaimsJson(
  text: string | undefined,
  what = '--claims'
): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_REQUEST_INVALID',
      `${what} is not valid JSON (${(error as Error).message}); pass an object, e.g. ${what} '{"tenant_id":"t1"}'`
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_REQUEST_INVALID',
      `${what} must be a JSON object of claims, e.g. '{"tenant_id":"t1"}'`
    );
  }
  const reserved = Object.keys(value).filter((k) => (RESERVED_PROBE_CLAIMS as readonly string[]).includes(k));
  if (reserved.length > 0) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID',
      `${what} may not set ${reserved.join(', ')}: the probe sets ${RESERVED_PROBE_CLAIMS.join(', ')} itself (the user is --user, the audience comes from the target)`
    );
  }
  return value as Record<string, unknown>;
}
