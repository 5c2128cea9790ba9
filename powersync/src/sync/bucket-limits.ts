/**
 * The service's two PSYNC_S2305 limits, checked while a connection's checkpoint is built: the rows its
 * parameter queries return (`api.parameters.max_parameter_query_results`) and its buckets
 * (`api.parameters.max_buckets_per_connection`), both 1000 by default. The messages and log fields are the
 * service 1.25's, as captured in bucket-limit-log.txt.
 */
export interface BucketLimits {
  maxBuckets: number;
  maxParameterQueryResults: number;
}

export const DEFAULT_BUCKET_LIMITS: BucketLimits = { maxBuckets: 1000, maxParameterQueryResults: 1000 };

/** One call the rules library made for parameter rows, in the service's log shape. */
export interface ParameterQueryInvocation {
  definition: string;
  didExceedLimit: boolean;
  resultsOrLimit: number;
}

export class BucketLimitError extends Error {
  readonly code = 'PSYNC_S2305';
  constructor(
    readonly description: string,
    /** The service's error log line: the description with a breakdown by definition. */
    readonly logMessage: string,
    readonly logFields: Record<string, unknown>
  ) {
    super(description);
  }

  /** The HTTP 500 body the service answers when the first checkpoint fails (no `status`, unlike its 401s). */
  toResponse() {
    return { error: { code: this.code, description: this.description, name: 'ServiceError' } };
  }
}

/** The log names the kind of definition the rules use: bucket definitions or sync streams. */
export type DefinitionKind = 'bucket definition' | 'sync stream';

export function tooManyBuckets(
  definitions: string[],
  limit: number,
  kind: DefinitionKind
): BucketLimitError {
  const counts = new Map<string, number>();
  for (const d of definitions) counts.set(d, (counts.get(d) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  // The service logs the 100 largest definitions and sums up the rest.
  const shown = sorted.slice(0, 100);
  const description = `Too many buckets: ${definitions.length} (limit of ${limit})`;
  let breakdown = `\nBuckets by ${kind}:${shown.map(([d, n]) => `\n  ${d}: ${n}`).join('')}`;
  const rest = sorted.slice(100);
  if (rest.length > 0) {
    const buckets = rest.reduce((n, [, c]) => n + c, 0);
    breakdown += `\n  ... and ${buckets} more buckets from ${rest.length} ${kind}s`;
  }
  return new BucketLimitError(description, `[PSYNC_S2305] ${description}${breakdown}`, {
    buckets: definitions.length,
    buckets_by_definition: Object.fromEntries(shown)
  });
}

/** `log` ends with the invocation that exceeded the remaining budget. */
export function tooManyParameterResults(log: ParameterQueryInvocation[], limit: number): BucketLimitError {
  const description = `Too many parameter query results (limit of ${limit})`;
  const failure = log.at(-1)!;
  const largest = log
    .slice(0, -1)
    .sort((a, b) => b.resultsOrLimit - a.resultsOrLimit)
    .slice(0, 9);
  let breakdown = '\nInvoked parameter queries by definition:';
  for (const entry of largest) breakdown += `\n  ${entry.definition}: ${entry.resultsOrLimit} results.`;
  // The service compares with the whole log, failure included, so one earlier call reads "1 more".
  if (largest.length < log.length) breakdown += `\n ... and ${log.length - largest.length} more invocations`;
  breakdown += `\n ${failure.definition} exceeded the remaining limit of ${failure.resultsOrLimit} available results.`;
  return new BucketLimitError(description, `[PSYNC_S2305] ${description}${breakdown}`, {
    parameterResults: [...largest, failure]
  });
}
