import {
  BaseJwtPayload,
  type HydratedSyncConfig,
  RequestParameters,
  type ResolvedBucket
} from '@powersync/service-sync-rules';
import type { BucketStorage } from '../storage/bucket-storage.ts';

/** The service's limit on buckets per connection (PSYNC_S2305). */
export const MAX_BUCKETS_PER_CONNECTION = 1000;

export class TooManyBucketsError extends Error {
  readonly code = 'PSYNC_S2305';
  constructor(count: number) {
    super(`Too many buckets: ${count} (limit of ${MAX_BUCKETS_PER_CONNECTION})`);
  }
}

export interface BucketResolution {
  buckets: ResolvedBucket[];
  errors: string[];
}

/** Evaluates the parameter queries for one connection: static buckets plus table-backed lookups. */
export function createBucketResolver(
  rules: HydratedSyncConfig,
  storage: BucketStorage,
  tokenPayload: Record<string, unknown>,
  clientParameters: Record<string, unknown>
): () => Promise<BucketResolution> {
  const parameters = new RequestParameters(new BaseJwtPayload(tokenPayload), clientParameters);
  const { querier, errors } = rules.getBucketParameterQuerier({
    globalParameters: parameters,
    hasDefaultStreams: true,
    streams: {}
  });
  const staticErrors = errors.map((e) => `${e.descriptor}: ${e.message}`);
  return async () => {
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
    const unique = new Map<string, ResolvedBucket>();
    for (const b of [...querier.staticBuckets, ...dynamic]) unique.set(b.bucket, b);
    if (unique.size > MAX_BUCKETS_PER_CONNECTION) throw new TooManyBucketsError(unique.size);
    return { buckets: [...unique.values()], errors: staticErrors };
  };
}
