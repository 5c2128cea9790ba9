import { inspect } from 'node:util';
import { z } from 'zod';
import {
  readSubscriptionText,
  SUBSCRIPTION_EXAMPLE,
  SUBSCRIPTION_FORMS
} from '../../sync-rules/subscription-text.ts';
import { PROBE_MODES, type ProbeMode } from '../probe-mode.ts';
import { MAX_PROBE_TOKEN_TTL_SECONDS, RESERVED_PROBE_CLAIMS } from '../tokens/mint-probe-token.ts';

/**
 * A `!env NAME` value in a targets file: the variable's name and (when set) its value. Secrets may only
 * come this way, so a targets file can be committed. Prints as `!env NAME`, never as the value.
 */
export class EnvRef {
  constructor(
    readonly name: string,
    readonly value: string | undefined
  ) {}
  toJSON(): string {
    return `!env ${this.name}`;
  }
  [inspect.custom](): string {
    return `!env ${this.name}`;
  }
}

export const TARGET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How to move a secret out of the file, for the key `key`. */
export function useEnvHint(key: string, what = 'the value'): string {
  return `write \`${key}: !env VARIABLE\` and put ${what} in that environment variable`;
}

/** A field whose check we write ourselves, so messages say what to do and never echo the value. */
function checked<T>(check: (value: unknown) => string | undefined): z.ZodType<T> {
  return z.custom<T>().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }) as unknown as z.ZodType<T>;
}

function envRefProblem(value: EnvRef): string | undefined {
  return ENV_NAME_PATTERN.test(value.name)
    ? undefined
    : `\`!env ${value.name}\` is not an environment variable name (letters, digits and _)`;
}

/** Password in a URL's userinfo or in a `password=` query parameter. */
export function urlHasPassword(url: URL): boolean {
  return url.password !== '' || url.searchParams.has('password');
}

/** Checks a URL (literal or resolved from the environment); returns the problem, or undefined. */
export function urlProblem(
  value: string,
  protocols: readonly string[],
  literal: false | { key: string }
): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL (expected ${protocols.map((p) => `${p}//…`).join(' or ')})`;
  }
  if (!protocols.includes(url.protocol)) {
    return `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL, not ${url.protocol}//`;
  }
  if (literal && urlHasPassword(url)) {
    return `has a password in it, and secrets may not be written in the targets file: ${useEnvHint(literal.key, 'the whole URL')}`;
  }
  return undefined;
}

/** A URL written in the file or read with `!env` (checked once resolved). */
function urlField(key: string, protocols: readonly string[]) {
  return checked<string | EnvRef>((v) => {
    if (v === undefined) return 'is required';
    if (v instanceof EnvRef) return envRefProblem(v);
    if (typeof v !== 'string') return 'must be a URL string';
    return urlProblem(v, protocols, { key });
  });
}

/** A secret: only `!env NAME` is accepted. */
function secretField(key: string) {
  return checked<EnvRef>((v) => {
    if (v === undefined) return 'is required';
    if (v instanceof EnvRef) return envRefProblem(v);
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'object') {
      return `is a secret and may not be written in the targets file: ${useEnvHint(key)}`;
    }
    return `must be \`!env VARIABLE\``;
  });
}

function nonEmptyString(what: string) {
  return checked<string>((v) => {
    if (v === undefined) return 'is required';
    if (v instanceof EnvRef) return `cannot use !env (${what} is not a secret); write it in the file`;
    if (typeof v !== 'string' || v.trim() === '') return `must be a non-empty string (${what})`;
    return undefined;
  });
}

export const HTTP_PROTOCOLS = ['http:', 'https:'] as const;
export const POSTGRES_PROTOCOLS = ['postgres:', 'postgresql:'] as const;

const syncRulesSchema = z
  .strictObject({
    path: nonEmptyString('a file path, relative to the targets file').optional(),
    from_admin_api: checked<true>((v) =>
      v === true ? undefined : 'must be `true` (or leave it out and give `path`)'
    ).optional()
  })
  .superRefine((rules, ctx) => {
    if (rules.path !== undefined && rules.from_admin_api !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'gives both `path` and `from_admin_api`; choose one: the rules file the service deploys, or the rules the admin API reports as current'
      });
    } else if (rules.path === undefined && rules.from_admin_api === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs `path: ./sync_rules.yaml` (relative to the targets file) or `from_admin_api: true`'
      });
    }
  });

const signingKeySchema = z
  .strictObject({
    kid: nonEmptyString("the key id the sync service's client_auth lists for this key"),
    hs256_secret: secretField('hs256_secret').optional(),
    encoding: checked<'base64url' | 'raw'>((v) =>
      v === 'base64url' || v === 'raw'
        ? undefined
        : 'must be `base64url` (the `k` of an HS256 JWK, the default) or `raw` (the secret itself)'
    ).optional(),
    private_jwk: secretField('private_jwk').optional()
  })
  .superRefine((key, ctx) => {
    if (key.hs256_secret !== undefined && key.private_jwk !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'gives both `hs256_secret` and `private_jwk`; a probe key is one or the other'
      });
    } else if (key.hs256_secret === undefined && key.private_jwk === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'needs `hs256_secret: !env VARIABLE` (shared HS256 secret) or `private_jwk: !env VARIABLE` (RS256, ES256 or EdDSA private JWK as JSON)'
      });
    }
    if (key.encoding !== undefined && key.hs256_secret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['encoding'],
        message: 'only applies to `hs256_secret`; remove it'
      });
    }
  });

const extraClaimsSchema = checked<Record<string, unknown>>((v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof EnvRef) {
    return 'must be a mapping of claim names to values';
  }
  const reserved = Object.keys(v).filter((k) => (RESERVED_PROBE_CLAIMS as readonly string[]).includes(k));
  if (reserved.length > 0) {
    return `may not set ${reserved.join(', ')}: the probe sets ${RESERVED_PROBE_CLAIMS.join(', ')} itself`;
  }
  return undefined;
});

export const TARGET_KEYS = [
  'sync_url',
  'admin_url',
  'admin_token',
  'source_url',
  'sync_rules',
  'signing_key',
  'audience',
  'issuer',
  'extra_claims',
  'probe_token_ttl_seconds',
  'upload_url',
  'write_probe',
  'schedule',
  'job_deadline_seconds',
  'max_concurrent_probes',
  'user_search',
  'replication_health',
  'canaries',
  'rules_insight'
] as const;

/** `NAME`, `NAME=JSON` or `NAME@PRIORITY=JSON`, as `syncscope probe --subscribe` takes it. */
const subscriptionText = z.string().superRefine((text, ctx) => {
  const read = readSubscriptionText(text);
  if ('problem' in read)
    ctx.addIssue({
      code: 'custom',
      message: `${read.problem}; write ${SUBSCRIPTION_FORMS}, e.g. '${SUBSCRIPTION_EXAMPLE}'`
    });
});

/**
 * A scheduled user: an id, or `{user, subscribe}` for one whose client subscribes to sync streams. A bare
 * id is read as `{user}` (rather than a union, whose error would hide the object's own messages).
 */
const scheduledUserSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { user: v } : v),
  z.strictObject({
    user: nonEmptyString('the user id the probe syncs as'),
    subscribe: z.array(subscriptionText).max(50).default([])
  })
);

export const SCHEDULE_KEYS = [
  'users',
  'every_seconds',
  'sample',
  'sweep',
  'users_query',
  'users_query_timeout_seconds',
  'mode'
] as const;

const USERS_QUERY_EXAMPLE = '`users_query: SELECT id AS user_id FROM users`';

/**
 * What the agents probe on their own (docs/schedules.md): `users` (canaries) and/or `sample: N` users
 * every `every_seconds`, and/or a `sweep` of every user once per `period_seconds`; sample and sweep list
 * the users with `users_query`. Expanded into probe jobs shared by all agents (core/src/schedules/).
 */
const scheduleSchema = z
  .strictObject({
    users: z.array(scheduledUserSchema).min(1).max(100).optional(),
    every_seconds: z.number().int().min(5).max(86_400).optional(),
    sample: z.number().int().min(1).max(10_000).optional(),
    sweep: z
      .strictObject({
        period_seconds: z
          .number()
          .int()
          .min(5)
          .max(90 * 86_400)
      })
      .optional(),
    users_query: nonEmptyString('SQL returning one row per user with a `user_id` column').optional(),
    users_query_timeout_seconds: z.number().int().min(1).max(300).optional(),
    mode: checked<ProbeMode>((v) =>
      (PROBE_MODES as readonly unknown[]).includes(v)
        ? undefined
        : `must be ${PROBE_MODES.map((m) => `\`${m}\``).join(' or ')} (full: the real client; light: the stream alone)`
    ).optional()
  })
  .superRefine((s, ctx) => {
    const problem = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (!s.users && s.sample === undefined && !s.sweep) {
      ctx.addIssue({
        code: 'custom',
        message:
          'names nothing to probe: add `users: [...]` (canaries), `sample: N` (N users every interval) or `sweep: { period_seconds: S }` (every user once per period)'
      });
    }
    if ((s.users || s.sample !== undefined) && s.every_seconds === undefined)
      problem('every_seconds', 'is required with `users` and `sample`: the seconds between their probes');
    if (s.every_seconds !== undefined && !s.users && s.sample === undefined)
      problem('every_seconds', 'only applies to `users` and `sample`; a sweep has `sweep.period_seconds`');
    if ((s.sample !== undefined || s.sweep) && s.users_query === undefined)
      problem(
        'users_query',
        `is required with \`sample\` and \`sweep\`, to list the target's users: e.g. ${USERS_QUERY_EXAMPLE}`
      );
    if (s.users_query !== undefined && s.sample === undefined && !s.sweep)
      problem('users_query', 'is only read by `sample` and `sweep`; add one of them or remove it');
  });

export const CANARY_KEYS = ['users', 'settle_seconds', 'reconcile_seconds', 'freshness'] as const;

/**
 * Users whose sync stream an agent keeps open (live canaries): every checkpoint_diff's rows are re-read
 * from the source, a full comparison runs every `reconcile_seconds` (what catches a change the service
 * never sends), and `freshness` writes a marker row through the write path to time its arrival.
 */
const canariesSchema = z.strictObject({
  users: z.array(scheduledUserSchema).min(1).max(20),
  settle_seconds: z
    .number()
    .min(1)
    .max(600)
    .default(10)
    .describe('how long a difference may last before it is a mismatch (replication lag)'),
  reconcile_seconds: z
    .number()
    .int()
    .min(5)
    .max(86_400)
    .default(300)
    .describe("seconds between full comparisons of each canary's rows (a full source read per canary)"),
  freshness: z
    .strictObject({
      every_seconds: z.number().int().min(5).max(3_600).describe('seconds between freshness markers')
    })
    .optional()
});

export const WRITE_PROBE_KEYS = [
  'user_id',
  'table',
  'values',
  'marker_column',
  'upload_token',
  'upload_token_file'
] as const;

/** The synthetic write probe: as which test user, into which table, and how to authenticate uploads. */
const writeProbeSchema = z
  .strictObject({
    user_id: nonEmptyString('the test user the write probe writes as'),
    table: nonEmptyString('the table the write probe inserts into and deletes from again'),
    values: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .default({})
      .describe('column values of the probe row (e.g. the test user’s workspace)'),
    marker_column: nonEmptyString(
      'a text column that carries the probe marker, so app code can ignore the row'
    ),
    /** The credential itself (`!env`), or `upload_token_file`: a 0600 file read at every write probe. */
    upload_token: secretField('upload_token').optional(),
    /**
     * A file holding the credential (relative to the targets file), read each time the target is
     * resolved: a credential rotated into it reaches the next write probe without a restart.
     */
    upload_token_file: nonEmptyString('the path of a file holding the upload credential').optional()
  })
  .superRefine((w, ctx) => {
    if ((w.upload_token === undefined) === (w.upload_token_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['upload_token'],
        message:
          'give exactly one of `upload_token: !env VARIABLE` and `upload_token_file: PATH` (a 0600 file, read at every write probe, for a credential you rotate)'
      });
    }
  });

export const REPLICATION_HEALTH_KEYS = [
  'every_seconds',
  'wal_budget_bytes',
  'inactive_grace_seconds'
] as const;

/**
 * How `syncscope agent` watches the target's replication (slots, WAL, the admin API's lag): every
 * target is watched, with REPLICATION_HEALTH_DEFAULTS unless this says otherwise.
 */
const replicationHealthSchema = z.strictObject({
  every_seconds: z
    .number()
    .int()
    .min(5)
    .max(86_400)
    .optional()
    .describe('seconds between readings (default 30)'),
  wal_budget_bytes: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('WAL the service slots may retain together before it is a finding and an alert'),
  inactive_grace_seconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .optional()
    .describe(
      'without slot names from the admin API: how long a service slot may be inactive before it counts as left behind (default 600)'
    )
});

export const RULES_INSIGHT_KEYS = [
  'every_seconds',
  'bucket_limit',
  'bucket_thresholds',
  'sample_size'
] as const;

/** `syncscope rules coverage|lint` and the agent's coverage metrics (docs/rules-insight.md). */
const rulesInsightSchema = z
  .strictObject({
    every_seconds: z
      .number()
      .int()
      .min(30)
      .max(86_400)
      .optional()
      .describe('seconds between the agent’s coverage readings (default 300); each scans the rules’ tables'),
    bucket_limit: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        'the service’s api.parameters.max_buckets_per_connection (default 1000), for the bucket-limit lint and budgets'
      ),
    bucket_thresholds: z
      .array(z.number().int().positive())
      .min(1)
      .max(5)
      .optional()
      .describe('bucket counts below the limit that budgets count users over (default 80 % and 90 % of it)'),
    sample_size: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe('row and user ids listed per finding (default 5)')
  })
  .superRefine((r, ctx) => {
    const limit = r.bucket_limit ?? 1000;
    for (const [i, t] of (r.bucket_thresholds ?? []).entries())
      if (t >= limit)
        ctx.addIssue({
          code: 'custom',
          path: ['bucket_thresholds', i],
          message: `${t} is not below bucket_limit (${limit}); the limit is always the top threshold, list only the ones below it`
        });
  });

export const USER_SEARCH_KEYS = ['table', 'id_column', 'email_column'] as const;

/** The app's users table, which the console's user search reads (id, and email when given) and nothing else. */
const userSearchSchema = z.strictObject({
  table: nonEmptyString('the users table, `users` or `schema.users`'),
  id_column: nonEmptyString('the column holding the user id the app’s tokens carry as `sub`'),
  email_column: nonEmptyString('a column to search users by, e.g. their email').optional()
});

export const targetSchema = z
  .strictObject({
    sync_url: urlField('sync_url', HTTP_PROTOCOLS),
    admin_url: urlField('admin_url', HTTP_PROTOCOLS).optional(),
    admin_token: secretField('admin_token').optional(),
    source_url: urlField('source_url', POSTGRES_PROTOCOLS),
    sync_rules: syncRulesSchema,
    signing_key: signingKeySchema,
    audience: nonEmptyString('the `aud` the sync service accepts for probe tokens'),
    issuer: nonEmptyString('the `iss` of probe tokens').optional(),
    extra_claims: extraClaimsSchema.optional(),
    probe_token_ttl_seconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_PROBE_TOKEN_TTL_SECONDS, `a probe token lives at most ${MAX_PROBE_TOKEN_TTL_SECONDS} seconds`)
      .optional(),
    upload_url: urlField('upload_url', HTTP_PROTOCOLS).optional(),
    write_probe: writeProbeSchema.optional(),
    schedule: scheduleSchema.optional(),
    /** A console job's attempt on this target is stopped (inconclusive) and reclaimed after this long. */
    job_deadline_seconds: z.number().int().min(10).max(3_600).optional(),
    /** At most this many probes of the target run at once, across all agents (enforced at claim time). */
    max_concurrent_probes: z.number().int().min(1).max(1_000).optional(),
    user_search: userSearchSchema.optional(),
    replication_health: replicationHealthSchema.optional(),
    canaries: canariesSchema.optional(),
    rules_insight: rulesInsightSchema.optional()
  })
  .superRefine((t, ctx) => {
    const fromAdmin = t.sync_rules?.from_admin_api && t.sync_rules.path === undefined;
    if (fromAdmin && t.admin_url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync_rules', 'from_admin_api'],
        message:
          'reads the rules from the admin API, but the target has no `admin_url`; add `admin_url` and `admin_token`, or use `sync_rules: { path: … }`'
      });
    } else if (fromAdmin && t.admin_token === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync_rules', 'from_admin_api'],
        message:
          'reads the rules from the admin API, which needs `admin_token: !env VARIABLE` (a token from the service’s api.tokens)'
      });
    }
    if (t.write_probe !== undefined && t.upload_url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['write_probe'],
        message: 'needs `upload_url` (the app backend’s upload endpoint the probe writes through)'
      });
    }
    if (t.canaries?.freshness !== undefined && t.write_probe === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['canaries', 'freshness'],
        message:
          'writes its marker row through the write path, which the target lacks: add `write_probe` (test user, table, values, marker_column, upload credential) and `upload_url`, or remove `freshness`'
      });
    }
    if (t.admin_token !== undefined && t.admin_url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['admin_token'],
        message: 'is set but `admin_url` is not; add `admin_url` (the service’s base URL) or remove the token'
      });
    }
  });

export const targetsFileSchema = z.strictObject({
  targets: checked<Record<string, unknown>>((v) => {
    if (v === undefined) return 'is required: a mapping of target names to targets';
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return 'must be a mapping of target names to targets';
    }
    if (Object.keys(v).length === 0) return 'is empty; add at least one target';
    const bad = Object.keys(v).filter((name) => !TARGET_NAME_PATTERN.test(name));
    if (bad.length > 0) {
      return `has target name${bad.length > 1 ? 's' : ''} ${bad.map((n) => JSON.stringify(n)).join(', ')}: use letters, digits, '.', '_' and '-' (up to 63)`;
    }
    return undefined;
  })
});

export type TargetEntry = z.infer<typeof targetSchema>;

/** The keys a mapping at `path` allows, for "unknown key" messages. */
export function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] | undefined {
  if (path.length === 0) return ['targets'];
  if (path.length === 2 && path[0] === 'targets') return TARGET_KEYS;
  if (path.length === 3 && path[2] === 'sync_rules') return ['path', 'from_admin_api'];
  if (path.length === 3 && path[2] === 'signing_key')
    return ['kid', 'hs256_secret', 'encoding', 'private_jwk'];
  if (path.length === 3 && path[2] === 'write_probe') return WRITE_PROBE_KEYS;
  if (path.length === 3 && path[2] === 'user_search') return USER_SEARCH_KEYS;
  if (path.length === 3 && path[2] === 'replication_health') return REPLICATION_HEALTH_KEYS;
  if (path.length === 3 && path[2] === 'schedule') return SCHEDULE_KEYS;
  if (path.length === 4 && path[2] === 'schedule' && path[3] === 'sweep') return ['period_seconds'];
  if (path.length === 3 && path[2] === 'rules_insight') return RULES_INSIGHT_KEYS;
  if (path.length === 5 && path[2] === 'schedule' && path[3] === 'users') return ['user', 'subscribe'];
  if (path.length === 3 && path[2] === 'canaries') return CANARY_KEYS;
  if (path.length === 4 && path[2] === 'canaries' && path[3] === 'freshness') return ['every_seconds'];
  if (path.length === 5 && path[2] === 'canaries' && path[3] === 'users') return ['user', 'subscribe'];
  return undefined;
}
