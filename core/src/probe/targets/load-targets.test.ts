import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSyncScopeError, type SyncScopeError } from '../../errors/index.ts';
import { findFreePort } from '../../net/ports.ts';
import { createTestAuditSink } from '../../testing/test-audit-sink.ts';
import { defaultTargetsFile, listTargetNames, loadTarget, loadTargets } from './load-targets.ts';

const RULES = 'bucket_definitions:\n  global:\n    data:\n      - SELECT * FROM lists\n';
const HS_SECRET = Buffer.alloc(32, 7);
const ADMIN_TOKEN = 'admin-token-0123456789-do-not-print';
const DB_PASSWORD = 'db-password-do-not-print';

/** A valid target; cases replace parts of it. */
const VALID_TARGET = `    sync_url: https://sync.example.com
    source_url: !env SRC
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env HS }
    audience: syncscope-probe
`;
const one = (target: string) => `targets:\n  prod:\n${target}`;
const swap = (from: string, to: string) => one(VALID_TARGET.replace(from, to));

const ENV = {
  SRC: `postgres://probe:${DB_PASSWORD}@db.internal:5432/app`,
  HS: HS_SECRET.toString('base64url'),
  SHORT: Buffer.alloc(8, 1).toString('base64url'),
  NOT_B64: 'not base64 at all!',
  JBAD: '{not json, secret-ish',
  JPUB: '{"kty":"RSA","n":"AQAB","e":"AQAB"}',
  JHS: '{"kty":"oct","k":"AAAA","d":"x"}',
  HTTP_SRC: 'http://db.internal/app',
  EMPTY: ''
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-targets-'));
  await writeFile(path.join(dir, 'rules.yaml'), RULES);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let counter = 0;
async function targetsFile(text: string): Promise<string> {
  const file = path.join(dir, `targets-${++counter}.yaml`);
  await writeFile(file, text);
  return file;
}

async function errorOf(promise: Promise<unknown>): Promise<SyncScopeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  if (!isSyncScopeError(error)) throw new Error(`expected a SyncScopeError, got ${inspect(error)}`);
  return error;
}

// Each invalid file and the exact message it gets; `F` stands for the file's path.
const INVALID: [string, string, string][] = [
  [
    'not a mapping',
    '- prod\n',
    'F: (top level): must be a mapping with a `targets:` key (see docs/targets.md)'
  ],
  ['empty file', '', 'F: (top level): must be a mapping with a `targets:` key (see docs/targets.md)'],
  [
    'unknown top-level key',
    `${one(VALID_TARGET)}defaults: {}\n`,
    'F: defaults: unknown key (allowed here: targets)'
  ],
  ['no targets', 'targets: {}\n', 'F: targets: is empty; add at least one target'],
  [
    'bad target name',
    'targets:\n  "prod db": {}\n',
    `F: targets: has target name "prod db": use letters, digits, '.', '_' and '-' (up to 63)`
  ],
  [
    'unknown target key',
    one(`${VALID_TARGET}    colour: blue\n`),
    'F: targets.prod.colour: unknown key (allowed here: sync_url, admin_url, admin_token, source_url, sync_rules, signing_key, audience, issuer, extra_claims, probe_token_ttl_seconds, upload_url, write_probe, schedule, job_deadline_seconds, max_concurrent_probes, user_search, replication_health, canaries, rules_insight)'
  ],
  [
    'unknown signing_key key',
    swap('hs256_secret: !env HS', 'hs256_secret: !env HS, secret: !env HS'),
    'F: targets.prod.signing_key.secret: unknown key (allowed here: kid, hs256_secret, encoding, private_jwk)'
  ],
  [
    'unknown sync_rules key',
    swap('{ path: rules.yaml }', '{ path: rules.yaml, content: x }'),
    'F: targets.prod.sync_rules.content: unknown key (allowed here: path, from_admin_api)'
  ],
  ['missing field', swap('    audience: syncscope-probe\n', ''), 'F: targets.prod.audience: is required'],
  [
    'probe token lifetime over the limit',
    one(`${VALID_TARGET}    probe_token_ttl_seconds: 600\n`),
    'F: targets.prod.probe_token_ttl_seconds: a probe token lives at most 300 seconds'
  ],
  [
    'literal admin token',
    one(`${VALID_TARGET}    admin_url: https://sync.example.com\n    admin_token: ${ADMIN_TOKEN}\n`),
    'F: targets.prod.admin_token: is a secret and may not be written in the targets file: write `admin_token: !env VARIABLE` and put the value in that environment variable'
  ],
  [
    'literal HS256 secret',
    swap('!env HS', HS_SECRET.toString('base64url')),
    'F: targets.prod.signing_key.hs256_secret: is a secret and may not be written in the targets file: write `hs256_secret: !env VARIABLE` and put the value in that environment variable'
  ],
  [
    'literal private JWK',
    swap('hs256_secret: !env HS', 'private_jwk: { kty: RSA, d: secret }'),
    'F: targets.prod.signing_key.private_jwk: is a secret and may not be written in the targets file: write `private_jwk: !env VARIABLE` and put the value in that environment variable'
  ],
  [
    'password in a literal source URL',
    swap('!env SRC', `postgres://probe:${DB_PASSWORD}@db.internal/app`),
    'F: targets.prod.source_url: has a password in it, and secrets may not be written in the targets file: write `source_url: !env VARIABLE` and put the whole URL in that environment variable'
  ],
  [
    'password as a query parameter',
    swap('!env SRC', `postgres://probe@db.internal/app?password=${DB_PASSWORD}`),
    'F: targets.prod.source_url: has a password in it, and secrets may not be written in the targets file: write `source_url: !env VARIABLE` and put the whole URL in that environment variable'
  ],
  [
    'source URL not postgres',
    swap('!env SRC', 'mysql://db.internal/app'),
    'F: targets.prod.source_url: must be a postgres:// or postgresql:// URL, not mysql://'
  ],
  [
    'sync URL not a URL',
    swap('https://sync.example.com', 'sync.example.com'),
    'F: targets.prod.sync_url: is not a URL (expected http://… or https://…)'
  ],
  [
    'audience from !env',
    swap('audience: syncscope-probe', 'audience: !env AUD'),
    'F: targets.prod.audience: cannot use !env (the `aud` the sync service accepts for probe tokens is not a secret); write it in the file'
  ],
  [
    'from_admin_api without admin_url',
    swap('{ path: rules.yaml }', '{ from_admin_api: true }'),
    'F: targets.prod.sync_rules.from_admin_api: reads the rules from the admin API, but the target has no `admin_url`; add `admin_url` and `admin_token`, or use `sync_rules: { path: … }`'
  ],
  [
    'from_admin_api without admin_token',
    one(
      `${VALID_TARGET.replace('{ path: rules.yaml }', '{ from_admin_api: true }')}    admin_url: https://a.example.com\n`
    ),
    'F: targets.prod.sync_rules.from_admin_api: reads the rules from the admin API, which needs `admin_token: !env VARIABLE` (a token from the service’s api.tokens)'
  ],
  [
    'from_admin_api false',
    swap('{ path: rules.yaml }', '{ from_admin_api: false }'),
    'F: targets.prod.sync_rules.from_admin_api: must be `true` (or leave it out and give `path`)'
  ],
  [
    'admin_token without admin_url',
    one(`${VALID_TARGET}    admin_token: !env TOKEN\n`),
    'F: targets.prod.admin_token: is set but `admin_url` is not; add `admin_url` (the service’s base URL) or remove the token'
  ],
  [
    'both rule sources',
    swap('{ path: rules.yaml }', '{ path: rules.yaml, from_admin_api: true }'),
    'F: targets.prod.sync_rules: gives both `path` and `from_admin_api`; choose one: the rules file the service deploys, or the rules the admin API reports as current'
  ],
  [
    'no rule source',
    swap('{ path: rules.yaml }', '{}'),
    'F: targets.prod.sync_rules: needs `path: ./sync_rules.yaml` (relative to the targets file) or `from_admin_api: true`'
  ],
  [
    'both key kinds',
    swap('hs256_secret: !env HS', 'hs256_secret: !env HS, private_jwk: !env J'),
    'F: targets.prod.signing_key: gives both `hs256_secret` and `private_jwk`; a probe key is one or the other'
  ],
  [
    'no key',
    swap('{ kid: probe-1, hs256_secret: !env HS }', '{ kid: probe-1 }'),
    'F: targets.prod.signing_key: needs `hs256_secret: !env VARIABLE` (shared HS256 secret) or `private_jwk: !env VARIABLE` (RS256, ES256 or EdDSA private JWK as JSON)'
  ],
  [
    'encoding on a JWK key',
    swap('hs256_secret: !env HS', 'private_jwk: !env J, encoding: raw'),
    'F: targets.prod.signing_key.encoding: only applies to `hs256_secret`; remove it'
  ],
  [
    'reserved extra claim',
    one(`${VALID_TARGET}    extra_claims: { tenant: t1, aud: other }\n`),
    'F: targets.prod.extra_claims: may not set aud: the probe sets sub, aud, iss, iat, exp, jti, syncscope_probe itself'
  ],
  [
    'YAML syntax error',
    'targets:\n  prod: [\n',
    'F: line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]'
  ],
  [
    'duplicate key',
    one(`${VALID_TARGET}    audience: again\n`),
    'F: line 8, column 5: Map keys must be unique'
  ],
  ['unknown tag', swap('!env HS', '!secret HS'), 'F: line 6, column 48: Unresolved tag: !secret'],
  [
    'several problems at once',
    one('    sync_url: https://s\n    audience: a\n'),
    'F: targets.prod.source_url: is required; targets.prod.sync_rules: is required; targets.prod.signing_key: is required'
  ],
  // Found when the target is resolved (environment, key material, files).
  [
    'unset env var',
    swap('!env SRC', '!env PROD_SOURCE_URL'),
    'F: targets.prod.source_url: environment variable PROD_SOURCE_URL (from !env) is not set; set it and run again'
  ],
  [
    'several unset env vars',
    swap('!env SRC', '!env PROD_SOURCE_URL').replace('!env HS', '!env PROD_HS'),
    'F: targets.prod.source_url: environment variable PROD_SOURCE_URL (from !env) is not set; set it and run again; targets.prod.signing_key.hs256_secret: environment variable PROD_HS (from !env) is not set; set it and run again'
  ],
  [
    'empty env var',
    swap('!env SRC', '!env EMPTY'),
    'F: targets.prod.source_url: environment variable EMPTY (from !env) is empty; set it and run again'
  ],
  [
    'env source URL not postgres',
    swap('!env SRC', '!env HTTP_SRC'),
    'F: targets.prod.source_url: (from !env HTTP_SRC) must be a postgres:// or postgresql:// URL, not http://'
  ],
  [
    'short HS256 secret',
    swap('!env HS', '!env SHORT'),
    'F: targets.prod.signing_key.hs256_secret: (from !env SHORT) is 8 bytes; HS256 needs at least 32'
  ],
  [
    'HS256 secret not base64url',
    swap('!env HS', '!env NOT_B64'),
    'F: targets.prod.signing_key.hs256_secret: (from !env NOT_B64) is not base64url (the `k` of an HS256 JWK); if the variable holds the secret itself, add `encoding: raw` to signing_key'
  ],
  [
    'JWK not JSON',
    swap('hs256_secret: !env HS', 'private_jwk: !env JBAD'),
    'F: targets.prod.signing_key.private_jwk: (from !env JBAD) is not JSON; it must hold a private JWK object'
  ],
  [
    'public JWK',
    swap('hs256_secret: !env HS', 'private_jwk: !env JPUB'),
    'F: targets.prod.signing_key.private_jwk: (from !env JPUB) is a public key (no "d"); the probe signs tokens, so it needs the private JWK'
  ],
  [
    'unsupported JWK type',
    swap('hs256_secret: !env HS', 'private_jwk: !env JHS'),
    'F: targets.prod.signing_key.private_jwk: (from !env JHS) is a oct key; probe keys are RS256 (RSA), ES256 (EC P-256) or EdDSA (OKP Ed25519)'
  ],
  [
    'malformed scheduled subscription',
    one(
      `${VALID_TARGET}    schedule: { users: [{ user: u-1, subscribe: ['lists={"id":'] }], every_seconds: 60 }\n`
    ),
    `F: targets.prod.schedule.users.0.subscribe.0: the parameters are not valid JSON (Unexpected end of JSON input); write NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object, e.g. 'list_todos={"list_id":"l1"}'`
  ],
  [
    'mistyped scheduled user key',
    one(
      `${VALID_TARGET}    schedule: { users: [{ user: u-1, subscriptions: ['lists'] }], every_seconds: 60 }\n`
    ),
    'F: targets.prod.schedule.users.0.subscriptions: unknown key (allowed here: user, subscribe)'
  ],
  [
    'scheduled user without its id',
    one(`${VALID_TARGET}    schedule: { users: [{ subscribe: ['lists'] }], every_seconds: 60 }\n`),
    'F: targets.prod.schedule.users.0.user: is required'
  ],
  [
    'schedule naming nothing to probe',
    one(`${VALID_TARGET}    schedule: { every_seconds: 60 }\n`),
    'F: targets.prod.schedule: names nothing to probe: add `users: [...]` (canaries), `sample: N` (N users every interval) or `sweep: { period_seconds: S }` (every user once per period); targets.prod.schedule.every_seconds: only applies to `users` and `sample`; a sweep has `sweep.period_seconds`'
  ],
  [
    'sweep without users_query',
    one(`${VALID_TARGET}    schedule: { sweep: { period_seconds: 86400 } }\n`),
    "F: targets.prod.schedule.users_query: is required with `sample` and `sweep`, to list the target's users: e.g. `users_query: SELECT id AS user_id FROM users`"
  ],
  [
    'sample without its interval',
    one(`${VALID_TARGET}    schedule: { sample: 20, users_query: SELECT id AS user_id FROM users }\n`),
    'F: targets.prod.schedule.every_seconds: is required with `users` and `sample`: the seconds between their probes'
  ],
  [
    'unknown probe mode',
    one(`${VALID_TARGET}    schedule: { users: [u-1], every_seconds: 60, mode: quick }\n`),
    'F: targets.prod.schedule.mode: must be `light` or `full` (full: the real client; light: the stream alone)'
  ],
  [
    'mistyped sweep key',
    one(`${VALID_TARGET}    schedule: { sweep: { every: 60 }, users_query: SELECT 1 AS user_id }\n`),
    'F: targets.prod.schedule.sweep.period_seconds: is required; targets.prod.schedule.sweep.every: unknown key (allowed here: period_seconds)'
  ],
  [
    'per-target limit of zero',
    one(`${VALID_TARGET}    max_concurrent_probes: 0\n`),
    'F: targets.prod.max_concurrent_probes: Too small: expected number to be >=1'
  ],
  [
    'replication health polled too often',
    one(`${VALID_TARGET}    replication_health: { every_seconds: 1 }\n`),
    'F: targets.prod.replication_health.every_seconds: Too small: expected number to be >=5'
  ],
  [
    'replication health budget not bytes',
    one(`${VALID_TARGET}    replication_health: { wal_budget_bytes: 1GB }\n`),
    'F: targets.prod.replication_health.wal_budget_bytes: Invalid input: expected number, received string'
  ],
  [
    'replication health unknown key',
    one(`${VALID_TARGET}    replication_health: { every: 30 }\n`),
    'F: targets.prod.replication_health.every: unknown key (allowed here: every_seconds, wal_budget_bytes, inactive_grace_seconds)'
  ],
  [
    'canary freshness without a write path',
    one(`${VALID_TARGET}    canaries: { users: [u-1], freshness: { every_seconds: 60 } }\n`),
    'F: targets.prod.canaries.freshness: writes its marker row through the write path, which the target lacks: add `write_probe` (test user, table, values, marker_column, upload credential) and `upload_url`, or remove `freshness`'
  ],
  [
    'canaries without users',
    one(`${VALID_TARGET}    canaries: { users: [] }\n`),
    'F: targets.prod.canaries.users: Too small: expected array to have >=1 items'
  ],
  [
    'canary key mistyped',
    one(`${VALID_TARGET}    canaries: { users: [u-1], settle: 5 }\n`),
    'F: targets.prod.canaries.settle: unknown key (allowed here: users, settle_seconds, reconcile_seconds, freshness)'
  ],
  [
    'rules coverage read too often',
    one(`${VALID_TARGET}    rules_insight: { every_seconds: 5 }\n`),
    'F: targets.prod.rules_insight.every_seconds: Too small: expected number to be >=30'
  ],
  [
    'rules insight unknown key',
    one(`${VALID_TARGET}    rules_insight: { max_buckets: 2000 }\n`),
    'F: targets.prod.rules_insight.max_buckets: unknown key (allowed here: every_seconds, bucket_limit, bucket_thresholds, sample_size)'
  ],
  [
    'missing rules file',
    swap('rules.yaml', 'missing-rules.yaml'),
    'F: targets.prod.sync_rules.path: cannot read DIR/missing-rules.yaml (no such file); paths are relative to the targets file'
  ]
];

describe('loadTargets: invalid files', () => {
  it.each(INVALID)('%s', async (_name, text, expected) => {
    const file = await targetsFile(text);
    const error = await errorOf(loadTargets(file, ENV));
    expect(error.code).toBe('SYNCSCOPE_E_TARGETS_INVALID');
    expect(error.message).toBe(expected.replace('F', file).replace('DIR', dir));
    // No message ever repeats a secret.
    for (const secret of [ADMIN_TOKEN, DB_PASSWORD, ENV.HS, 'secret-ish'])
      expect(error.message).not.toContain(secret);
  });

  it('a missing file says how to get one', async () => {
    const file = path.join(dir, 'nope.yaml');
    const error = await errorOf(loadTargets(file, ENV));
    expect(error.message).toBe(
      `No targets file at ${file}. Start the demo stack (npm start) to get one with target "demo", or write one (docs/targets.md) and pass --targets FILE.`
    );
  });

  it('an unknown target names the file and the targets it has', async () => {
    const file = await targetsFile(`${one(VALID_TARGET)}  staging:\n${VALID_TARGET}`);
    const error = await errorOf(loadTarget(file, 'prdo', ENV));
    expect(error.code).toBe('SYNCSCOPE_E_TARGET_UNKNOWN');
    expect(error.message).toBe(`No target named "prdo" in ${file}; it has targets "prod", "staging".`);
  });
});

describe('loadTargets: a valid file', () => {
  it('resolves secrets from the environment, keys, relative rules paths and optional fields', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const file = await targetsFile(`# Two stacks
targets:
  prod:
    sync_url: https://sync.example.com
    admin_url: https://sync.example.com
    admin_token: !env ADMIN_TOKEN
    source_url: !env SRC
    sync_rules:
      path: ./rules.yaml
    signing_key:
      kid: probe-1
      hs256_secret: !env HS
    audience: syncscope-probe
    issuer: syncscope
    extra_claims:
      tenant_id: acme
      region: !env REGION
    upload_url: https://api.example.com/api/upload
    probe_token_ttl_seconds: 30
  staging:
    sync_url: http://127.0.0.1:7001
    source_url: postgres://readonly@127.0.0.1:5433/app
    sync_rules: { path: rules.yaml }
    signing_key:
      kid: probe-es
      private_jwk: !env STAGING_JWK
    audience: syncscope-probe
  raw-secret:
    sync_url: http://127.0.0.1:7001
    source_url: postgres://readonly@127.0.0.1:5433/app
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-raw, hs256_secret: !env RAW_HS, encoding: raw }
    audience: syncscope-probe
`);
    const env = {
      ...ENV,
      ADMIN_TOKEN,
      REGION: 'eu',
      STAGING_JWK: JSON.stringify(jwk),
      RAW_HS: 'a raw secret that is long enough, 32+'
    };
    expect(await listTargetNames(file, {})).toEqual(['prod', 'staging', 'raw-secret']);
    const targets = await loadTargets(file, env);
    const prod = targets.get('prod')!;
    expect(prod).toMatchObject({
      name: 'prod',
      syncUrl: 'https://sync.example.com',
      adminUrl: 'https://sync.example.com',
      adminToken: ADMIN_TOKEN,
      sourceUrl: ENV.SRC,
      syncRulesYaml: RULES,
      syncRulesFile: 'rules.yaml',
      audience: 'syncscope-probe',
      issuer: 'syncscope',
      extraClaims: { tenant_id: 'acme', region: 'eu' },
      uploadUrl: 'https://api.example.com/api/upload',
      probeTokenTtlSeconds: 30,
      signing: { kind: 'hs256', kid: 'probe-1' }
    });
    expect(targets.get('staging')!.probeTokenTtlSeconds).toBeUndefined();
    expect(Buffer.from((prod.signing as { secret: Uint8Array }).secret)).toEqual(HS_SECRET);
    const staging = targets.get('staging')!;
    expect(staging.signing).toMatchObject({ kind: 'private-jwk', kid: 'probe-es', alg: 'ES256' });
    expect(staging.adminToken).toBeUndefined();
    const raw = targets.get('raw-secret')!;
    expect(Buffer.from((raw.signing as { secret: Uint8Array }).secret).toString()).toBe(env.RAW_HS);

    // The keys sign tokens that verify.
    const audited = await createTestAuditSink('load_targets_mint');
    const token = await audited.mint(staging, 'user-1').finally(() => audited.ops.close());
    expect((await jwtVerify(token.token, publicKey, { audience: 'syncscope-probe' })).payload.sub).toBe(
      'user-1'
    );

    // Printing a target hides its secrets.
    for (const printed of [
      JSON.stringify(prod),
      inspect(prod, { depth: 10 }),
      JSON.stringify([...targets.values()])
    ]) {
      for (const secret of [ADMIN_TOKEN, DB_PASSWORD, ENV.HS, String(jwk.d)])
        expect(printed).not.toContain(secret);
    }
    expect(JSON.parse(JSON.stringify(prod))).toMatchObject({
      adminToken: '[redacted]',
      sourceUrl: 'postgres://probe:***@db.internal:5432/app',
      signing: '[ProbeSigningKey kid=probe-1]'
    });
  });

  it('schedules users by id, or with the stream subscriptions their client makes', async () => {
    const file = await targetsFile(
      one(
        `${VALID_TARGET}    schedule:\n      every_seconds: 60\n      users:\n        - u-1\n` +
          `        - user: u-2\n          subscribe: ['lists={"list_id":"l1"}', 'todos@1']\n`
      )
    );
    const target = await loadTarget(file, 'prod', ENV);
    expect(target.schedule).toEqual({
      everySeconds: 60,
      users: [
        { userId: 'u-1', subscriptions: [] },
        {
          userId: 'u-2',
          subscriptions: [
            { stream: 'lists', parameters: { list_id: 'l1' }, priority: null },
            { stream: 'todos', parameters: null, priority: 1 }
          ]
        }
      ]
    });
  });

  it('holds canaries with their settle window and reconcile interval (defaults 10 s and 300 s)', async () => {
    const file = await targetsFile(
      one(`${VALID_TARGET}    canaries:\n      users: [u-1, { user: u-2, subscribe: ['todos@1'] }]\n`)
    );
    const target = await loadTarget(file, 'prod', ENV);
    expect(target.canaries).toEqual({
      users: [
        { userId: 'u-1', subscriptions: [] },
        { userId: 'u-2', subscriptions: [{ stream: 'todos', parameters: null, priority: 1 }] }
      ],
      settleMs: 10_000,
      reconcileMs: 300_000
    });
  });

  it('reads samples, sweeps, their users_query, the mode and the per-target limit', async () => {
    const file = await targetsFile(
      one(
        `${VALID_TARGET}    max_concurrent_probes: 4\n    schedule:\n      sample: 20\n      every_seconds: 300\n` +
          '      sweep: { period_seconds: 86400 }\n      users_query: SELECT id AS user_id FROM users\n' +
          '      users_query_timeout_seconds: 30\n      mode: light\n'
      )
    );
    const target = await loadTarget(file, 'prod', ENV);
    expect(target.maxConcurrentProbes).toBe(4);
    expect(target.schedule).toEqual({
      users: [],
      everySeconds: 300,
      sample: 20,
      sweepPeriodSeconds: 86400,
      usersQuery: 'SELECT id AS user_id FROM users',
      usersQueryTimeoutMs: 30_000,
      mode: 'light'
    });
  });

  it('names the rules file relative to the targets file (what reports and the console show), even when written absolute', async () => {
    await mkdir(path.join(dir, 'app', 'powersync'), { recursive: true });
    await mkdir(path.join(dir, 'app', '.syncscope'), { recursive: true });
    const rules = path.join(dir, 'app', 'powersync', 'sync_rules.yaml');
    await writeFile(rules, RULES);
    const file = path.join(dir, 'app', '.syncscope', 'targets.yaml');
    for (const written of [rules, '../powersync/sync_rules.yaml']) {
      await writeFile(file, one(VALID_TARGET.replace('rules.yaml', written)));
      const target = await loadTarget(file, 'prod', ENV);
      expect(target.syncRulesFile).toBe('../powersync/sync_rules.yaml');
      expect(target.syncRulesYaml).toBe(RULES);
    }
  });

  it("reads a target's job deadline, and refuses one too short to probe in", async () => {
    const target = await loadTarget(
      await targetsFile(one(`${VALID_TARGET}    job_deadline_seconds: 45\n`)),
      'prod',
      ENV
    );
    expect(target.jobDeadlineMs).toBe(45_000);
    const tooShort = await errorOf(
      loadTargets(await targetsFile(one(`${VALID_TARGET}    job_deadline_seconds: 5\n`)), ENV)
    );
    expect(tooShort.code).toBe('SYNCSCOPE_E_TARGETS_INVALID');
    expect(tooShort.message).toMatch(/targets\.prod\.job_deadline_seconds/);
  });

  it("resolves only the targets asked for: another target's unset variables do not matter", async () => {
    const file = await targetsFile(
      `${one(VALID_TARGET)}  other:\n${VALID_TARGET.replace('!env SRC', '!env UNSET_VAR')}`
    );
    const targets = await loadTargets(file, ENV, { only: ['prod'] });
    expect([...targets.keys()]).toEqual(['prod']);
    await expect(loadTargets(file, ENV)).rejects.toThrow('environment variable UNSET_VAR');
  });

  it('defaultTargetsFile is <SYNCSCOPE_HOME>/targets.yaml', () => {
    expect(defaultTargetsFile({})).toBe(path.resolve('.syncscope/targets.yaml'));
    expect(defaultTargetsFile({ SYNCSCOPE_HOME: '/srv/ss' })).toBe('/srv/ss/targets.yaml');
  });
});

describe('loadTargets: sync_rules.from_admin_api', () => {
  let server: Server;
  let adminUrl: string;
  const seen: (string | undefined)[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    adminUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const adminTarget = () =>
    one(
      `${VALID_TARGET.replace('{ path: rules.yaml }', '{ from_admin_api: true }')}    admin_url: ${adminUrl}\n    admin_token: !env ADMIN_TOKEN\n`
    );

  it.each([
    ['the real service', { data: { current: { content: RULES, slot_name: 's' }, next: null } }],
    ['the dev server', { data: { content: RULES, slot_name: 's' } }]
  ])('reads the current rules as %s answers them, with the admin token', async (_who, body) => {
    answer = { status: 200, body };
    seen.length = 0;
    const target = await loadTarget(await targetsFile(adminTarget()), 'prod', { ...ENV, ADMIN_TOKEN });
    expect(target.syncRulesYaml).toBe(RULES);
    expect(target.syncRulesFile).toBeUndefined();
    expect(seen).toEqual([`GET /api/sync-rules/v1/current Bearer ${ADMIN_TOKEN}`]);
  });

  it('a refused token and an unreachable admin API are SYNCSCOPE_E_ADMIN_API errors without the token', async () => {
    answer = { status: 401, body: { error: { code: 'PSYNC_S2106' } } };
    const file = await targetsFile(adminTarget());
    const refused = await errorOf(loadTarget(file, 'prod', { ...ENV, ADMIN_TOKEN }));
    expect(refused.code).toBe('SYNCSCOPE_E_ADMIN_API');
    expect(refused.message).toBe(
      `Target "prod": the admin API at ${adminUrl}/api/sync-rules/v1/current refused the admin token (HTTP 401); use a token from the service's api.tokens.`
    );
    answer = { status: 422, body: { error: { code: 'PSYNC_S4104' } } };
    expect((await errorOf(loadTarget(file, 'prod', { ...ENV, ADMIN_TOKEN }))).message).toContain(
      'answered HTTP 422 without sync rules content (no sync rules are deployed)'
    );
    const closedPort = await findFreePort();
    const down = await targetsFile(adminTarget().replace(adminUrl, `http://127.0.0.1:${closedPort}`));
    const unreachable = await errorOf(loadTarget(down, 'prod', { ...ENV, ADMIN_TOKEN }));
    expect(unreachable.code).toBe('SYNCSCOPE_E_ADMIN_API');
    expect(unreachable.message).toMatch(
      /^Target "prod": cannot fetch the current sync rules from http:\/\/127\.0\.0\.1:\d+\/api\/sync-rules\/v1\/current: .*ECONNREFUSED.*\. Check admin_url, or use sync_rules\.path\.$/
    );
    for (const e of [refused, unreachable]) expect(e.message).not.toContain(ADMIN_TOKEN);
  });
});

describe('docs/targets.md', () => {
  it('its example file loads', async () => {
    const doc = await readFile(
      fileURLToPath(new URL('../../../../docs/targets.md', import.meta.url)),
      'utf8'
    );
    const example = /```yaml\n([\s\S]+?)```/.exec(doc)![1]!;
    await mkdir(path.join(dir, 'docs-example', 'config'), { recursive: true });
    await mkdir(path.join(dir, 'docs-example', 'powersync'), { recursive: true });
    await writeFile(path.join(dir, 'docs-example', 'powersync', 'sync_rules.yaml'), RULES);
    const file = path.join(dir, 'docs-example', 'config', 'targets.yaml');
    await writeFile(file, example);
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const env = {
      PROD_POWERSYNC_API_TOKEN: ADMIN_TOKEN,
      PROD_PROBE_DATABASE_URL: ENV.SRC,
      PROD_PROBE_PRIVATE_JWK: JSON.stringify(await exportJWK(privateKey)),
      PROD_WRITE_PROBE_UPLOAD_TOKEN: 'write-probe-upload-token-0123456789',
      STAGING_PROBE_HS256_SECRET: ENV.HS
    };
    expect(await listTargetNames(file, {})).toEqual(['prod', 'staging']);
    const staging = await loadTarget(file, 'staging', env);
    expect(staging).toMatchObject({ syncRulesYaml: RULES, signing: { kind: 'hs256', kid: 'staging-probe' } });
    // prod reads its rules from the admin API: everything up to that request resolves.
    await expect(
      loadTarget(file, 'prod', env, {
        fetch: async () => Response.json({ data: { current: { content: RULES } } })
      })
    ).resolves.toMatchObject({
      extraClaims: { org_id: 42 },
      signing: { kind: 'private-jwk', alg: 'RS256' },
      writeProbe: {
        table: 'records',
        markerColumn: 'title',
        uploadToken: 'write-probe-upload-token-0123456789'
      }
    });
  });

  it('reads a write probe credential from upload_token_file at every load (rotation), only from a 0600 file', async () => {
    const tokenFile = path.join(dir, 'upload-token');
    const entry = (writeProbe: string) =>
      targetsFile(
        [
          'targets:',
          '  prod:',
          '    sync_url: https://sync.example.com',
          '    source_url: postgres://ro@db/app',
          '    sync_rules: { path: rules.yaml }',
          '    signing_key: { kid: k, hs256_secret: !env HS }',
          '    audience: syncscope-probe',
          '    upload_url: https://api.example.com/api/upload',
          `    write_probe: { user_id: u, table: records, marker_column: title, ${writeProbe} }`,
          ''
        ].join('\n')
      );
    const file = await entry('upload_token_file: upload-token');
    await writeFile(tokenFile, 'first-upload-token-0123456789\n', { mode: 0o600 });
    expect((await loadTarget(file, 'prod', { HS: ENV.HS })).writeProbe?.uploadToken).toBe(
      'first-upload-token-0123456789'
    );
    await writeFile(tokenFile, 'rotated-upload-token-0123456789\n');
    expect((await loadTarget(file, 'prod', { HS: ENV.HS })).writeProbe?.uploadToken).toBe(
      'rotated-upload-token-0123456789'
    );
    // A secret file others can read is refused, naming the file and never its content.
    await chmod(tokenFile, 0o644);
    const open = await errorOf(loadTarget(file, 'prod', { HS: ENV.HS }));
    expect(open.message).toContain(
      `targets.prod.write_probe.upload_token_file: ${tokenFile} is readable by others (mode 644)`
    );
    expect(open.message).not.toContain('rotated-upload-token');
    await rm(tokenFile);
    expect((await errorOf(loadTarget(file, 'prod', { HS: ENV.HS }))).message).toContain('no such file');
    // Exactly one of the two.
    for (const both of ['upload_token: !env TOKEN, upload_token_file: upload-token', 'values: {}']) {
      const error = await errorOf(loadTarget(await entry(both), 'prod', { HS: ENV.HS, TOKEN: 'x' }));
      expect(error.message).toContain(
        'give exactly one of `upload_token: !env VARIABLE` and `upload_token_file: PATH`'
      );
    }
  });

  it('reads user_search as schema, table and columns, and refuses unknown keys in it', async () => {
    const lines = (userSearch: string) =>
      [
        'targets:',
        '  prod:',
        '    sync_url: https://sync.example.com',
        '    source_url: postgres://ro@db/app',
        '    sync_rules: { path: rules.yaml }',
        '    signing_key: { kid: k, hs256_secret: !env HS }',
        '    audience: syncscope-probe',
        `    user_search: ${userSearch}`,
        ''
      ].join('\n');
    const file = await targetsFile(lines('{ table: app.people, id_column: uid, email_column: mail }'));
    await expect(loadTarget(file, 'prod', { HS: ENV.HS })).resolves.toMatchObject({
      userSearch: { schema: 'app', table: 'people', idColumn: 'uid', emailColumn: 'mail' }
    });
    const bad = await targetsFile(lines('{ table: users, id_column: id, password_column: pw }'));
    await expect(loadTarget(bad, 'prod', { HS: ENV.HS })).rejects.toThrow(
      /targets\.prod\.user_search\.password_column: unknown key \(allowed here: table, id_column, email_column\)/
    );
  });

  it('reads replication_health: interval, WAL budget and grace; keys left out keep their defaults', async () => {
    const file = await targetsFile(
      one(`${VALID_TARGET}    replication_health: { every_seconds: 60, wal_budget_bytes: 1073741824 }\n`)
    );
    const target = await loadTarget(file, 'prod', ENV);
    expect(target.replicationHealth).toEqual({ everySeconds: 60, walBudgetBytes: 1073741824 });
    expect(
      (await loadTarget(await targetsFile(one(VALID_TARGET)), 'prod', ENV)).replicationHealth
    ).toBeUndefined();
  });

  it('reads rules_insight: interval, bucket limit and sample size; keys left out keep their defaults', async () => {
    const file = await targetsFile(
      one(`${VALID_TARGET}    rules_insight: { every_seconds: 600, bucket_limit: 2000 }\n`)
    );
    expect((await loadTarget(file, 'prod', ENV)).rulesInsight).toEqual({
      everySeconds: 600,
      bucketLimit: 2000
    });
  });

  it('reads rules_insight.bucket_thresholds, and refuses one at or over the limit, naming it', async () => {
    const ok = await targetsFile(
      one(`${VALID_TARGET}    rules_insight: { bucket_limit: 2000, bucket_thresholds: [1500, 1900] }\n`)
    );
    expect((await loadTarget(ok, 'prod', ENV)).rulesInsight).toEqual({
      bucketLimit: 2000,
      bucketThresholds: [1500, 1900]
    });
    const bad = await targetsFile(
      one(`${VALID_TARGET}    rules_insight: { bucket_thresholds: [800, 1000] }\n`)
    );
    await expect(loadTarget(bad, 'prod', ENV)).rejects.toThrow(
      'targets.prod.rules_insight.bucket_thresholds.1: 1000 is not below bucket_limit (1000)'
    );
  });

  it('refuses a write probe without an upload_url, naming the key', async () => {
    const file = await targetsFile(
      [
        'targets:',
        '  prod:',
        '    sync_url: https://sync.example.com',
        '    source_url: postgres://ro@db/app',
        '    sync_rules: { path: rules.yaml }',
        '    signing_key: { kid: k, hs256_secret: !env HS }',
        '    audience: syncscope-probe',
        '    write_probe: { user_id: u, table: records, marker_column: title, upload_token: !env TOKEN }',
        ''
      ].join('\n')
    );
    await expect(loadTarget(file, 'prod', { HS: ENV.HS, TOKEN: 'x' })).rejects.toThrow(
      /targets\.prod\.write_probe: needs `upload_url`/
    );
  });
});
