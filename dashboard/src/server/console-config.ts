import 'server-only';
import { TrustedProxies } from '@syncscope/core/net/trusted-proxies';
import { opsDatabaseUrl } from '@syncscope/core/probe/targets/demo-target';
import { z } from 'zod';

/** The console's settings, read once from the environment; a bad value fails start-up naming the key. */
const consoleEnvSchema = z.object({
  SYNCSCOPE_OPS_DATABASE_URL: z.string().url().optional(),
  SYNCSCOPE_TARGETS_FILE: z.string().optional(),
  SYNCSCOPE_SESSION_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 30)
    .default(12),
  SYNCSCOPE_COOKIE_SECURE: z.enum(['auto', 'always', 'never']).default('auto'),
  /**
   * The reverse proxies (addresses and CIDRs, comma-separated) whose X-Forwarded-For/-Proto/-Host
   * count; the client is the right-most address that is not one of them. Empty: the socket's peer is
   * the client and forwarded headers are ignored.
   */
  SYNCSCOPE_TRUSTED_PROXIES: z.string().default(''),
  /** Replaced by SYNCSCOPE_TRUSTED_PROXIES: `true` alone would trust whoever sends the header. */
  SYNCSCOPE_TRUST_PROXY: z
    .enum(['true', 'false'])
    .optional()
    .refine((v) => v !== 'true', {
      message:
        'no longer supported: list your reverse proxies in SYNCSCOPE_TRUSTED_PROXIES (e.g. 10.0.0.0/8) and unset SYNCSCOPE_TRUST_PROXY'
    }),
  /** Largest client database the inspector accepts. */
  SYNCSCOPE_INSPECT_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(200 * 1024 * 1024),
  /** When set, GET /metrics requires `Authorization: Bearer <token>` (a console reachable beyond Prometheus). */
  SYNCSCOPE_METRICS_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(16, 'use at least 16 characters, e.g. the output of openssl rand -base64 32').optional()
  ),
  /** Prometheus whose firing alerts (prometheus/rules) the overview lists; unset: "alerting not configured". */
  SYNCSCOPE_PROMETHEUS_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .url()
      .refine((v) => /^https?:\/\//.test(v), 'use an http(s) URL, e.g. http://prometheus:9090')
      .optional()
  ),
  /** Extra field names masked in reported upload data (comma-separated), on top of the defaults. */
  SYNCSCOPE_INGEST_REDACT_FIELDS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    )
});

export type ConsoleConfig = z.infer<typeof consoleEnvSchema> & {
  opsDatabaseUrl: string;
  trustedProxies: TrustedProxies;
};

let cached: ConsoleConfig | undefined;

export function consoleConfig(): ConsoleConfig {
  if (cached) return cached;
  const parsed = consoleEnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`SYNCSCOPE_E_CONFIG_INVALID: invalid console environment: ${problems}`);
  }
  cached = {
    ...parsed.data,
    opsDatabaseUrl: opsDatabaseUrl(process.env),
    trustedProxies: new TrustedProxies(parsed.data.SYNCSCOPE_TRUSTED_PROXIES)
  };
  return cached;
}
