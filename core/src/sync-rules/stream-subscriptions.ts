/**
 * Explicit sync-stream subscriptions (`db.syncStream(name, parameters).subscribe({priority})` on a client,
 * `streams.subscriptions` in its sync request), and how the PowerSync service hands them to the rules
 * library. The dev sync server and the probe's expected state both resolve buckets through these, so a
 * subscription means the same to both.
 */
import {
  type BucketPriority,
  type BucketSource,
  BucketSourceType,
  type HydratedSyncConfig,
  mergeBuckets,
  type RequestedStream,
  type ResolvedBucket,
  type SqliteJsonRow
} from '@powersync/service-sync-rules';
import { SyncScopeError } from '../errors/index.ts';

export interface StreamSubscription {
  /** The stream's name under `streams:` in the rules. */
  stream: string;
  /** What `subscription.parameter('…')` reads; null for a subscription without parameters. */
  parameters: Record<string, unknown> | null;
  /** A priority overriding the stream's own (0 first … 3), or null. */
  priority: BucketPriority | null;
}

/**
 * The library's `streams` querier option for a request's subscriptions, built as the service builds it:
 * grouped by stream name, each keeping its index in the request as its id (the `{sub: i}` of a bucket),
 * and absent parameters passed as `{}`.
 */
export function requestedStreams(
  subscriptions: readonly StreamSubscription[]
): Record<string, RequestedStream[]> {
  const byName: Record<string, RequestedStream[]> = {};
  subscriptions.forEach((s, index) => {
    const requested: RequestedStream = {
      priorityOverride: s.priority,
      parameters: (s.parameters ?? {}) as SqliteJsonRow,
      opaque_id: index
    };
    if (Object.hasOwn(byName, s.stream)) byName[s.stream]!.push(requested);
    else byName[s.stream] = [requested];
  });
  return byName;
}

/**
 * One connection's buckets from a querier's static and dynamic buckets, as the service keeps them: each
 * list merged (one entry per bucket, its inclusion reasons combined), then unique by id.
 */
export function connectionBuckets(
  staticBuckets: ResolvedBucket[],
  dynamicBuckets: ResolvedBucket[]
): ResolvedBucket[] {
  const unique = new Map<string, ResolvedBucket>();
  for (const b of [...mergeBuckets(staticBuckets), ...mergeBuckets(dynamicBuckets)]) unique.set(b.bucket, b);
  return [...unique.values()];
}

/** Whether a connection syncs a definition: a default one (unless defaults are off) or one it subscribed to. */
export function isSubscribedTo(
  source: BucketSource,
  subscriptions: readonly StreamSubscription[],
  includeDefaults = true
): boolean {
  return (
    (source.subscribedToByDefault && includeDefaults) || subscriptions.some((s) => s.stream === source.name)
  );
}

/** A sync stream of the rules (`streams:`), and whether it is synced without a subscription. */
export interface RulesStream {
  name: string;
  autoSubscribe: boolean;
}

export function streamsOf(rules: HydratedSyncConfig): RulesStream[] {
  return rules.bucketSourceDefinitions
    .filter((d) => d.type === BucketSourceType.SYNC_STREAM)
    .map((d) => ({ name: d.name, autoSubscribe: d.subscribedToByDefault }));
}

export function streamNamesOf(rules: HydratedSyncConfig): string[] {
  return streamsOf(rules).map((s) => s.name);
}

/**
 * The error for a subscription to a stream the rules do not define, or null when they define it. The
 * service ignores such a subscription (the stream is just missing from the checkpoint's `streams`),
 * which for a probe would silently check nothing.
 */
export function unknownStreamError(rules: HydratedSyncConfig, stream: string): SyncScopeError | null {
  const streams = streamNamesOf(rules);
  if (streams.includes(stream)) return null;
  const definitions = rules.bucketSourceDefinitions.map((d) => d.name);
  const hint = definitions.includes(stream)
    ? `"${stream}" is a bucket definition, not a sync stream: every user gets its buckets without subscribing, so drop the subscription`
    : streams.length > 0
      ? `subscribe to one of ${streams.map((s) => `"${s}"`).join(', ')}`
      : 'they define no sync streams (streams:), only bucket definitions, which need no subscription';
  return new SyncScopeError(
    'SYNCSCOPE_E_STREAM_UNKNOWN',
    `The sync rules define no stream "${stream}": ${hint}.`,
    {
      stream,
      streams
    }
  );
}

/** Refuses subscriptions to streams the rules do not define (see unknownStreamError). */
export function assertSubscribableStreams(
  rules: HydratedSyncConfig,
  subscriptions: readonly StreamSubscription[]
): void {
  for (const { stream } of subscriptions) {
    const error = unknownStreamError(rules, stream);
    if (error) throw error;
  }
}
