/**
 * The probe's data model, shared by the engine (core/src/probe), the agent CLI (agent/) and later the
 * dashboard. The JSON report (ProbeReport) is a stable, documented schema: bump PROBE_REPORT_VERSION on
 * any breaking change.
 */

import type { SqliteJsonValue } from '@powersync/service-sync-rules';
import type { UserSearchAccess } from '../source-access/source-access.ts';
import type { StreamSubscription } from '../sync-rules/stream-subscriptions.ts';
import type { ExpectedRowStore } from './expected/expected-rows.ts';
import type { ProbeMode } from './probe-mode.ts';
import type { ProbeVerdict, VerdictReason } from './verdicts.ts';

/**
 * 2: four verdicts with `reason` (outages are `inconclusive`, no longer `error` or `mismatch`), `service`
 * and `replication` evidence. Stored version 1 reports are read through `upgradeProbeReport`.
 */
export const PROBE_REPORT_VERSION = 2;

/** One PowerSync stack a probe can target. Secrets are resolved from the environment at load time. */
export interface ProbeTarget {
  name: string;
  /** Sync service base URL (the client's endpoint). */
  syncUrl: string;
  /** Optional admin API of the service (diagnostics, current rules) and its token. */
  adminUrl?: string;
  adminToken?: string;
  /** Source Postgres, read only. */
  sourceUrl: string;
  /** Sync rules YAML text (from a file, or fetched from the admin API). */
  syncRulesYaml: string;
  /** The rules file as reports name it: relative to the targets file (a label; the YAML is above). */
  syncRulesFile?: string;
  signing: ProbeSigningKey;
  /** The audience probe tokens carry: one the sync service accepts and app backends refuse. */
  audience: string;
  issuer?: string;
  /** Claims added to every probe token (e.g. a tenant id that `request.jwt()` rules read). */
  extraClaims?: Record<string, unknown>;
  /** Lifetime of the probe's tokens (default 240 s, at most 300): a sync that outlasts one refreshes it. */
  probeTokenTtlSeconds?: number;
  /** The app backend's upload URL (write probes). */
  uploadUrl?: string;
  /** The synthetic write probe's test user, row and upload credential. */
  writeProbe?: WriteProbeSettings;
  /** Users the agent probes on its own, and how often. */
  schedule?: ProbeSchedule;
  /** At most this many probes of the target at once, across all agents (`max_concurrent_probes`). */
  maxConcurrentProbes?: number;
  /** Users an agent holds as live canaries (`canaries`; core/src/canary/). */
  canaries?: CanarySettings;
  /** A console job's deadline per attempt on this target (`job_deadline_seconds`; else the agent's). */
  jobDeadlineMs?: number;
  /** The app's users table the console's user search reads (`user_search`); without it, search is refused. */
  userSearch?: UserSearchAccess;
  /** How the agent watches replication (`replication_health`); defaults in REPLICATION_HEALTH_DEFAULTS. */
  replicationHealth?: { everySeconds?: number; walBudgetBytes?: number; inactiveGraceSeconds?: number };
  /** Coverage and lint settings (`rules_insight`); defaults in RULES_INSIGHT_DEFAULTS. */
  rulesInsight?: {
    everySeconds?: number;
    bucketLimit?: number;
    bucketThresholds?: number[];
    sampleSize?: number;
  };
  /** SyncScope's ops database, where probe runs and audit entries are written (optional). */
  opsDatabaseUrl?: string;
}

/**
 * What the agents probe on their own (the targets file's `schedule`, docs/schedules.md): canaries
 * (`users`) and a `sample` of users every `everySeconds`, a sweep of every user once per
 * `sweepPeriodSeconds`; sample and sweep list users with `usersQuery`.
 */
export interface ProbeSchedule {
  /** Canaries: fixed users (empty when the schedule has none). */
  users: ScheduledUser[];
  everySeconds?: number;
  /** This many distinct users, drawn anew every `everySeconds`. */
  sample?: number;
  sweepPeriodSeconds?: number;
  /** SQL returning a `user_id` column, one row per user; read a page at a time. */
  usersQuery?: string;
  usersQueryTimeoutMs?: number;
  /** The probe the schedule's jobs run (full unless `mode: light`). */
  mode?: ProbeMode;
}

/** A user a target's schedule probes, with the stream subscriptions their client makes (often none). */
export interface ScheduledUser {
  userId: string;
  subscriptions: StreamSubscription[];
}

/** `canaries` as the agent reads it. */
export interface CanarySettings {
  users: ScheduledUser[];
  /** A difference lasting this long is a mismatch. */
  settleMs: number;
  /** Between full comparisons of a canary's rows with the source. */
  reconcileMs: number;
  /** Between freshness markers written through the write path (absent: none). */
  freshnessEveryMs?: number;
}

export interface WriteProbeSettings {
  userId: string;
  table: string;
  values: Record<string, string | number | boolean | null>;
  markerColumn: string;
  /** Sent as `Authorization: Bearer …` to the upload URL: a credential the backend accepts for the test user. */
  uploadToken: string;
}

export type ProbeSigningKey =
  | { kind: 'hs256'; kid: string; secret: Uint8Array }
  | { kind: 'private-jwk'; kid: string; alg: 'RS256' | 'ES256' | 'EdDSA'; jwk: Record<string, unknown> };

/** A row as the sync service would send it: the output table, id, and the row JSON's fields. */
export interface SyncedRow {
  table: string;
  id: string;
  /** The row JSON (`data` of a PUT) exactly as serialized, and its PUT checksum. */
  json: string;
  checksum: number;
  /** The bucket(s) the row is in. */
  buckets: string[];
}

export interface ExpectedBucket {
  bucket: string;
  /** The bucket definition (rules name) and the parameter values that make the bucket id. */
  definition: string;
  parameters: Record<string, SqliteJsonValue>;
  priority: number;
}

/** What the user should hold per the source database and the rules, in one consistent snapshot. */
export interface ExpectedState {
  userId: string;
  claims: Record<string, unknown>;
  buckets: ExpectedBucket[];
  /** Keyed by `${table}/${id}`, read back in key order (in memory, or spilled to disk by the probe). */
  rows: ExpectedRowStore;
  /** Parameter queries' evaluation, for explanations. */
  parameterEvidence: ParameterEvidence[];
  snapshotTakenAt: string;
  /** More buckets than the service allows one connection (1000): the real service refuses the sync. */
  overBucketLimit?: boolean;
}

/** Why the user has (or lacks) each bucket: which parameter query produced which bucket parameters. */
export interface ParameterEvidence {
  definition: string;
  /** The parameter query's SQL and its line in sync_rules.yaml. */
  query: string;
  line: number;
  /** Source rows the query matched for this user (e.g. membership rows), with their values. */
  matchedRows: { table: string; id: string; values: Record<string, SqliteJsonValue> }[];
  /** Bucket parameter sets produced. */
  produced: Record<string, SqliteJsonValue>[];
}

export type { ProbeVerdict, VerdictReason } from './verdicts.ts';

/** How the probe's own sync session ended. */
export type SyncOutcome =
  | { kind: 'synced'; ms: number }
  | { kind: 'auth-rejected'; httpStatus: number; code?: string; message: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'checksum-failure-loop'; failures: number; buckets: string[] }
  | { kind: 'no-progress'; seconds: number }
  | { kind: 'token-expiring'; secondsLeft: number }
  | { kind: 'write-checkpoint-not-echoed'; seconds: number }
  /** The service refused the stream with its own error code (PSYNC_S2305: bucket limit). */
  | { kind: 'service-error'; httpStatus: number; code?: string; message: string }
  /** The client's stream kept failing and never completed a checkpoint. */
  | { kind: 'stream-unstable'; errors: number; lastError: string; seconds: number }
  /** The probe's signal stopped the sync (deadline or lost job lease). */
  | { kind: 'aborted' };

/** What the service's admin API said about its rules and replication (absent without an admin API). */
export interface ServiceEvidence {
  /** The rules version (from its slot name) the service serves, and one it is reprocessing. */
  activeSlot?: string;
  deployingSlot?: string;
  initialReplicationDone: boolean;
  /** The probe compared against the service's current rules because they differ from the target's file. */
  rulesFromService: boolean;
}

/** Why the probe believes rows are (or are not) stale: replication as the service and Postgres see it. */
export interface ReplicationEvidence {
  /** From the admin diagnostics, before the probe and after it when differences persisted. */
  lagBytesBefore?: number;
  lagBytesAfter?: number;
  /** The dev sync server reports how long its oldest unapplied change has waited. */
  lagSeconds?: number;
  lastCheckpointAt?: string;
  lastCheckpointAgeSeconds?: number;
  /** Whether the service echoed the probe's write checkpoint (null: not checked). */
  writeCheckpointEchoed: boolean | null;
  /** pg_current_wal_lsn() − confirmed_flush_lsn of the service's slot, when readable. */
  slot?: { name: string; confirmedFlushLagBytes: number | null };
  /** Replication stalled since then (when the verdict is SYNCSCOPE_E_REPLICATION_STALLED). */
  stalledSince?: string;
}

export type DiffKind = 'missing' | 'extra' | 'different';

export interface FieldDifference {
  field: string;
  expected: SqliteJsonValue | undefined;
  actual: SqliteJsonValue | undefined;
}

export interface RowDifference {
  kind: DiffKind;
  table: string;
  id: string;
  buckets: string[];
  fields?: FieldDifference[];
  expectedChecksum?: number;
  actualChecksum?: number;
  /** Whether the difference cleared within the settle window (replication lag) or persisted. */
  settled: 'cleared' | 'persisted';
  clearedAfterMs?: number;
  explanation: string;
}

export interface BucketDifference {
  kind: 'missing' | 'extra';
  bucket: string;
  explanation: string;
}

export interface ProbeReport {
  /** 1 in reports stored before the four verdicts; readers use `upgradeProbeReport`. */
  version: typeof PROBE_REPORT_VERSION | 1;
  target: string;
  userId: string;
  /**
   * The explicit sync-stream subscriptions the probe's client made, besides the default streams (absent
   * in reports from before subscriptions could be probed).
   */
  subscriptions?: StreamSubscription[];
  verdict: ProbeVerdict;
  /** How the probe synced (absent in reports from before light probes: full). */
  mode?: ProbeMode;
  /**
   * A light probe's difference and the full probe that was run to confirm it: its report (until stored:
   * the runs are then stored apart, linked by `confirmedByRun` / `confirmsRun`).
   */
  confirmation?: ProbeReport;
  /** A stored light run: the id of the full run that confirmed (or not) its difference. */
  confirmedByRun?: string;
  /** A stored full run: the id of the light run whose difference it was run to confirm. */
  confirmsRun?: string;
  /** Why the verdict is not `consistent`: a catalogue code (see verdicts.ts) and one sentence. */
  reason?: VerdictReason;
  /** One line for a person: the verdict and its main cause. */
  summary: string;
  startedAt: string;
  durationMs: number;
  /** Time spent per phase: mint, sync, expected, diff, settle. */
  phases: Record<string, number>;
  token: { kid: string; jti: string; expiresAt: string; audience: string };
  sync: SyncOutcome;
  buckets: { expected: string[]; actual: string[]; differences: BucketDifference[]; overLimit: boolean };
  rows: {
    expected: number;
    actual: number;
    perTable: Record<string, { expected: number; actual: number }>;
    /** The first differences in key order (at most the probe's cap, 1,000 by default), in full. */
    differences: RowDifference[];
    /**
     * Every difference that persisted, listed or not, by kind (since report version 1 with streaming
     * diffs; absent in older reports, where `differences` listed them all).
     */
    differenceCounts?: Record<DiffKind, number>;
    /** Persisted differences counted in `differenceCounts` but not listed in `differences`. */
    differencesOmitted?: number;
  };
  checksums: {
    /** Buckets whose client op-log checksum differs from the checkpoint's. */
    bucketMismatches: { bucket: string; checkpoint: number; client: number }[];
    /** Live rows whose PUT checksum differs from the expected row's. */
    rowMismatches: number;
  };
  warnings: string[];
  /** The same as `reason` for `error` verdicts (kept for version 1 consumers). */
  error?: { code: string; message: string };
  service?: ServiceEvidence;
  replication?: ReplicationEvidence;
}

/**
 * A stored report (read or write probe) of either version as version 2 reads it: a version 1 report's
 * `error` becomes its `reason`. Its verdict stays what was stored: outages then were `error` or `mismatch`.
 */
export function upgradeProbeReport<
  T extends { version: number; reason?: VerdictReason; error?: { code: string; message: string } }
>(report: T): T {
  if (report.version !== 1 || report.reason || !report.error) return report;
  return {
    ...report,
    reason: { code: report.error.code as VerdictReason['code'], message: report.error.message }
  };
}
