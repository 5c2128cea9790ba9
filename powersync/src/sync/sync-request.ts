import { z } from 'zod';

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
  streams: z.unknown().optional(),
  app_metadata: z.unknown().optional()
});

export type SyncRequest = z.infer<typeof syncRequestSchema>;
