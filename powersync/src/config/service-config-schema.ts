import { z } from 'zod';

/**
 * The subset of the real PowerSync service's YAML config that the development sync server understands.
 * Field names and shapes follow the real service so one file can drive either. Keys outside this schema
 * are reported as ignored at start-up (see `ignoredKeys`).
 */
const postgresConnection = z.object({
  type: z.literal('postgresql').describe('Only Postgres sources are supported by the dev server'),
  uri: z.string().min(1).describe('postgres:// URI of the source database'),
  sslmode: z.enum(['disable', 'verify-full', 'verify-ca']).optional(),
  id: z.string().optional(),
  tag: z.string().optional(),
  slot_name_prefix: z.string().optional()
});

const jwk = z.looseObject({
  kty: z.string(),
  kid: z.string().optional(),
  alg: z.string().optional()
});

export const serviceConfigSchema = z.object({
  replication: z.object({
    connections: z.array(postgresConnection).length(1, 'exactly one replication connection is supported')
  }),
  storage: z.object({
    type: z.literal('postgresql', {
      message: 'the dev server stores buckets in Postgres: set storage.type to postgresql'
    }),
    uri: z.string().min(1),
    sslmode: z.enum(['disable', 'verify-full', 'verify-ca']).optional()
  }),
  sync_config: z.object({ path: z.string().optional(), content: z.string().optional() }).optional(),
  sync_rules: z.object({ path: z.string().optional(), content: z.string().optional() }).optional(),
  client_auth: z
    .object({
      jwks_uri: z.union([z.string(), z.array(z.string())]).optional(),
      jwks: z.object({ keys: z.array(jwk) }).optional(),
      audience: z.array(z.string()).min(1, 'list at least one audience the service accepts'),
      block_local_jwks: z.boolean().optional()
    })
    .optional(),
  api: z
    .object({
      tokens: z.array(z.string().min(1)).default([]),
      // The service's PSYNC_S2305 limits per connection (both 1000 by default).
      parameters: z
        .object({
          max_buckets_per_connection: z.coerce.number().int().positive().optional(),
          max_parameter_query_results: z.coerce.number().int().positive().optional()
        })
        .optional()
    })
    .optional(),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  telemetry: z
    .object({
      prometheus_port: z.coerce.number().int().min(0).max(65535).optional(),
      disable_telemetry_sharing: z.boolean().optional()
    })
    .optional()
});

export type ServiceConfig = z.infer<typeof serviceConfigSchema>;
