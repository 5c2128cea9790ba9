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

/** The service's limit on buckets per connection (PSYNC_S2305). */
export const MAX_BUCKETS_PER_CONNECTION = 1000;

export class TooManyBucketsError extends Error {
  readonly code = 'PSYNC_S2305';
  constructor(count: number) {
    super(`Too many buckets: ${count} (limit of ${MAX_BUCKETS_PER_CONNECTION})`);
  }
}

/** What a sync request asks for beyond its token: `streams.include_defaults` and `streams.subscriptions`. */
export interface ConnectionStreams {
  /** Default streams (auto_subscribe, and every bucket definition); the service assumes true when absent. */
  includeDefaults: boolean;
  subscriptions: StreamSubscription[];
}

export interface BucketResolver {
  /** Subscriptions the rules could not resolve (e.g. a parameter of the wrong shape), fixed per connection. */
  errors: QuerierError[];
  /** The connection's buckets now: static ones plus table-backed lookups, re-read at every checkpoint. */
  resolve(): Promise<ResolvedBucket[]>;
}

/** Evaluates the parameter queries of one connection, for its token, client parameters and stream subscriptions. */
export function createBucketResolver(
  rules: HydratedSyncConfig,
  storage: BucketStorage,
  tokenPayload: Record<string, unknown>,
  clientParameters: Record<string, unknown>,
  streams: ConnectionStreams
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
        ? await querier.queryDynamicBucketDescriptions({
            getParameterSets: async (lookups) => {
              const sets = await storage.readParameterSets(lookups.map((l) => l.serializedRepresentation));
              return lookups.map((lookup) => ({
                lookup,
                rows: sets.get(lookup.serializedRepresentation) ?? []
              }));
            }
          })
        : [];
      const buckets = connectionBuckets(querier.staticBuckets, dynamic);
      if (buckets.length > MAX_BUCKETS_PER_CONNECTION) throw new TooManyBucketsError(buckets.length);
      return buckets;
    }
  };
}
