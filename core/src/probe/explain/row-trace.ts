import type { SqliteJsonValue } from '@powersync/service-sync-rules';
import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';

/**
 * The trace of one source row through the sync rules: is it in Postgres, which data queries put it in
 * which buckets (or why not), who holds those buckets, and, for one user, why they do or do not.
 * `summary` says it in one or two sentences; the structured fields are the evidence.
 */
export interface RowTrace {
  /** The table and id as asked (a source table or a data query's output table). */
  table: string;
  id: string;
  /** `schema.name` of the source table read. */
  sourceTable: string;
  found: boolean;
  /** The row as Postgres returns it (text values), or null when not found. */
  row: Record<string, string | null> | null;
  /** Every data query that reads the table, in rules order, then every sync stream that does. */
  queries: QueryTrace[];
  /** Present when a user id was given. */
  user?: UserTrace;
  summary: string;
  snapshotTakenAt: string;
}

export interface QueryTrace {
  /** The bucket definition (rule) name, or the sync stream's. */
  definition: string;
  query: string;
  /** The query's line in sync_rules.yaml (0 when not found). */
  line: number;
  /** The table the row is synced as. */
  outputTable: string;
  selected: boolean;
  /** Why the query puts the row in no bucket (when not selected). */
  reason?: string;
  /** An error evaluating the row (the service logs it and skips the row). */
  error?: string;
  buckets: BucketTrace[];
}

export interface BucketTrace {
  bucket: string;
  parameters: Record<string, SqliteJsonValue>;
  /** The row as the service sends it in this bucket, and its PUT checksum. */
  json: string;
  checksum: number;
  holders: BucketHolders;
  /** For the given user: do they hold this bucket, and if not, why. */
  user?: { holds: boolean; reasons: WhyNot[] };
}

export interface BucketHolders {
  /**
   * everyone: a bucket without parameters; users: the user ids are known (lookups on the user id);
   * request: users whose token or client parameters have given values; nobody: no parameter row gives
   * this bucket's parameters.
   */
  kind: 'everyone' | 'users' | 'request' | 'nobody' | 'unknown';
  /** Known user ids (lookups on `request.user_id()`), sorted. */
  userIds: string[];
  /** e.g. `u-alice, u-bob`, `any user whose request.jwt() ->> 'org' is 7`, `nobody: ...`. */
  description: string;
  /** Parameter-table rows that produce this bucket's parameters, with the lookup they answer (at most 1,000). */
  parameterRows: ParameterRowEvidence[];
  /** How many parameter rows produce it in all (can exceed parameterRows.length). */
  parameterRowCount: number;
  /** Rows whose values equal the bucket's only after ignoring type (text '42' vs integer 42), at most 1,000. */
  nearMisses: ParameterRowEvidence[];
}

export interface ParameterRowEvidence {
  definition: string;
  query: string;
  line: number;
  table: string;
  id: string;
  values: Record<string, SqliteJsonValue>;
  /** The request values this row answers (e.g. the user id), in the query's input order. */
  lookup: SqliteJsonValue[];
  /** The bucket parameters the row gives. */
  produces: Record<string, SqliteJsonValue>;
}

export type WhyNotCode =
  | 'claim-missing'
  | 'client-parameter-missing'
  | 'no-lookup'
  | 'parameter-query-empty'
  | 'no-parameter-row'
  | 'type-mismatch'
  | 'request-value-differs'
  | 'over-bucket-limit'
  /** A default sync stream (auto_subscribe) gives the user other buckets, or none. */
  | 'stream-bucket-not-given'
  /** A sync stream without auto_subscribe that the user has no subscription to. */
  | 'stream-not-subscribed'
  /** The user's subscriptions to the stream select other buckets than the row's. */
  | 'stream-subscription-selects-other';

export interface WhyNot {
  code: WhyNotCode;
  /** A factual sentence naming the rule, its line and the values involved. */
  message: string;
  definition: string;
  line: number;
}

export interface UserTrace {
  userId: string;
  claims: Record<string, unknown>;
  /** The explicit stream subscriptions the buckets were resolved for (besides the default streams). */
  subscriptions: StreamSubscription[];
  /** All the user's buckets (as the service would resolve them now). */
  buckets: string[];
  /** True when the user holds at least one bucket the row is in. */
  holdsRow: boolean;
}
