import type { BucketPriority } from '@powersync/service-sync-rules';
import { z } from 'zod';
import type { ConnectionStreams } from './bucket-resolver.ts';

/** One explicit sync-stream subscription, as the client sends it; as strict as the service (both keys present, maybe null). */
const requestedSubscriptionSchema = z.looseObject({
  stream: z.string(),
  parameters: z.record(z.string(), z.unknown()).nullable(),
  override_priority: z.number().nullable()
});

/** The body `@powersync/node` posts to /sync/stream (unknown fields are allowed: newer clients add some). */
export const syncRequestSchema = z.looseObject({
  buckets: z
    .array(
      z.object({
        name: z.string().min(1),
        after: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)])
      })
    )
    .max(10_000)
    .optional(),
  include_checksum: z.boolean().optional(),
  raw_data: z.boolean().optional(),
  binary_data: z.boolean().optional(),
  client_id: z.string().max(200).optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  streams: z
    .looseObject({
      include_defaults: z.boolean().optional(),
      subscriptions: z.array(requestedSubscriptionSchema)
    })
    .optional(),
  app_metadata: z.unknown().optional()
});

export type SyncRequest = z.infer<typeof syncRequestSchema>;

/** The request's streams: defaults unless `include_defaults` is false, and its subscriptions in order. */
export function connectionStreamsOf(request: SyncRequest): ConnectionStreams {
  return {
    includeDefaults: request.streams?.include_defaults ?? true,
    subscriptions: (request.streams?.subscriptions ?? []).map((s) => ({
      stream: s.stream,
      parameters: s.parameters,
      // Passed on unchecked, as the service does.
      priority: s.override_priority as BucketPriority | null
    }))
  };
}
