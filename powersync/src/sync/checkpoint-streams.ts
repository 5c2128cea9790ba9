/**
 * How a checkpoint tells the client which streams it syncs and why it holds each bucket, in the service's
 * shapes: the first `checkpoint` lists the connection's streams, and each bucket names its reasons as
 * `{default: i}` (i indexes that list) or `{sub: i}` (i indexes the request's subscriptions).
 */

import type { HydratedSyncConfig, QuerierError, ResolvedBucket } from '@powersync/service-sync-rules';
import { isSubscribedTo } from '@syncscope/core/sync-rules/stream-subscriptions';
import type { ConnectionStreams } from './bucket-resolver.ts';

export interface StreamDescription {
  name: string;
  /** Subscribed by default (auto_subscribe, or a bucket definition), even when also subscribed explicitly. */
  is_default: boolean;
  /** Subscriptions the rules could not resolve: `'default'` or the subscription's index in the request. */
  errors: { subscription: 'default' | number; message: string }[];
}

export type BucketSubscription = { default: number } | { sub: number };

/**
 * Every definition the connection syncs, in rules order. A subscription to a stream the rules do not
 * define is left out: that absence is how a client learns the name is wrong.
 */
export function describeStreams(
  rules: HydratedSyncConfig,
  streams: ConnectionStreams,
  errors: QuerierError[]
): StreamDescription[] {
  return rules.bucketSourceDefinitions
    .filter((source) => isSubscribedTo(source, streams.subscriptions, streams.includeDefaults))
    .map((source) => ({
      name: source.name,
      is_default: source.subscribedToByDefault,
      errors: errors
        .filter((e) => e.descriptor === source.name)
        .map((e) => ({ subscription: e.subscription?.opaque_id ?? 'default', message: e.message }))
    }));
}

export function bucketSubscriptions(
  bucket: ResolvedBucket,
  streamIndex: ReadonlyMap<string, number>
): BucketSubscription[] {
  // A default bucket's stream is always in the list: isSubscribedTo holds for it.
  return bucket.inclusion_reasons.map((reason) =>
    reason === 'default' ? { default: streamIndex.get(bucket.definition)! } : { sub: reason.subscription }
  );
}
