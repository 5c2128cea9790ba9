import {
  BaseJwtPayload,
  type HydratedSyncConfig,
  type QuerierError,
  RequestParameters,
  type ResolvedBucket
} from '@powersync/service-sync-rules';
import {
  connectionBuckets,
  requestedStreams,
  type StreamSubscription
} from '@syncscope/core/sync-rules/stream-subscriptions';
import type { BucketStorage } from '../storage/bucket-storage.ts';
import {
  type BucketLimits,
  BucketLimitError,
  type DefinitionKind,
  type ParameterQueryInvocation,
  tooManyBuckets,
  tooManyParameterResults
} from './bucket-limits.ts';

/** What a sync request asks for beyond its token: `streams.include_defaults` and `streams.subscriptions`. */
export interface ConnectionStreams {
  /** Default streams (auto_subscribe, and every bucket definition); the service assumes true when absent. */
  includeDefaults: boolean;
  subscriptions: StreamSubscription[];
}

export interface BucketResolver {
  /** Subscriptions the rules could not resolve (e.g. a parameter of the wrong shape), fixed per connection. */
  errors: QuerierError[];
  /**
   * The connection's buckets now: static ones plus table-backed lookups, re-read at every checkpoint.
   * Throws BucketLimitError (PSYNC_S2305) past either limit.
   */
  resolve(): Promise<ResolvedBucket[]>;
}

/** Evaluates the parameter queries of one connection, for its token, client parameters and stream subscriptions. */
export function createBucketResolver(
  rules: HydratedSyncConfig,
  storage: BucketStorage,
  tokenPayload: Record<string, unknown>,
  clientParameters: Record<string, unknown>,
  streams: ConnectionStreams,
  limits: BucketLimits,
  kind: DefinitionKind
): BucketResolver {
  const parameters = new RequestParameters(new BaseJwtPayload(tokenPayload), clientParameters);
  const { querier, errors } = rules.getBucketParameterQuerier({
    globalParameters: parameters,
    hasDefaultStreams: streams.includeDefaults,
    streams: requestedStreams(streams.subscriptions)
  });
  return {
    errors,
    async resolve() {
      const dynamic = querier.hasDynamicBuckets
        ? await queryDynamicBuckets(querier, storage, limits.maxParameterQueryResults)
        : [];
      const buckets = connectionBuckets(querier.staticBuckets, dynamic);
      if (buckets.length > limits.maxBuckets)
        throw tooManyBuckets(
          buckets.map((b) => b.definition),
          limits.maxBuckets,
          kind
        );
      return buckets;
    }
  };
}

/** Parameter rows per lookup, counted against the connection's budget as the service counts them. */
async function queryDynamicBuckets(
  querier: ReturnType<HydratedSyncConfig['getBucketParameterQuerier']>['querier'],
  storage: BucketStorage,
  limit: number
): Promise<ResolvedBucket[]> {
  let remaining = limit;
  const log: ParameterQueryInvocation[] = [];
  return querier.queryDynamicBucketDescriptions({
    getParameterSets: async (lookups, definition) => {
      if (lookups.length > limit) {
        const message = `Attempted to fetch ${lookups.length} lookups at once, a maximum of ${limit} lookups are allowed.`;
        throw new BucketLimitError(message, `[PSYNC_S2305] ${message}`, { cause: definition });
      }
      const sets = await storage.readParameterSets(lookups.map((l) => l.serializedRepresentation));
      const results = lookups.map((lookup) => ({
        lookup,
        rows: sets.get(lookup.serializedRepresentation) ?? []
      }));
      const rows = results.reduce((n, r) => n + r.rows.length, 0);
      if (rows > remaining) {
        log.push({ definition, didExceedLimit: true, resultsOrLimit: remaining });
        throw tooManyParameterResults(log, limit);
      }
      log.push({ definition, didExceedLimit: false, resultsOrLimit: rows });
      remaining -= rows;
      return results;
    }
  });
}
