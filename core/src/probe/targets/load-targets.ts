import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { importJWK, type JWK } from 'jose';
import YAML from 'yaml';
import type { z } from 'zod';
import { SyncScopeError } from '../../errors/index.ts';
import { userSearchAccess } from '../../source-access/source-access.ts';
import { parseSubscriptionText } from '../../sync-rules/subscription-text.ts';
import type { ProbeSchedule, ProbeSigningKey, ProbeTarget, ScheduledUser } from '../probe-types.ts';
import { hideOnPrint, urlWithoutPassword } from '../tokens/hide-secrets.ts';
import { hideSigningKey } from '../tokens/mint-probe-token.ts';
import {
  allowedKeysAt,
  EnvRef,
  HTTP_PROTOCOLS,
  POSTGRES_PROTOCOLS,
  type TargetEntry,
  targetSchema,
  targetsFileSchema,
  urlProblem
} from './targets-schema.ts';

export const TARGETS_FILE_NAME = 'targets.yaml';
/** HS256 keys shorter than the hash output are refused (RFC 7518 §3.2). */
export const MIN_HS256_SECRET_BYTES = 32;
const ADMIN_API_TIMEOUT_MS = 10_000;

/** `<SYNCSCOPE_HOME or .syncscope>/targets.yaml`, the file `npm start` writes the demo target into. */
export function defaultTargetsFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SYNCSCOPE_HOME || '.syncscope', TARGETS_FILE_NAME);
}

export interface LoadTargetsOptions {
  /** Resolve only these targets (secrets, sync rules); the others are still checked for structure. */
  only?: readonly string[];
  /** For `sync_rules.from_admin_api` (tests pass their own). */
  fetch?: typeof fetch;
}

interface ParsedTargetsFile {
  file: string;
  entries: Map<string, TargetEntry>;
}

function invalid(file: string, problems: string[]): SyncScopeError {
  return new SyncScopeError('SYNCSCOPE_E_TARGETS_INVALID', `${file}: ${problems.join('; ')}`, {
    file,
    problems
  });
}

function keyPath(segments: readonly PropertyKey[]): string {
  return segments.length === 0 ? '(top level)' : segments.map(String).join('.');
}

function describeIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): string[] {
  const at = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(at);
    return issue.keys.map(
      (key) =>
        `${keyPath([...at, key])}: unknown key${allowed ? ` (allowed here: ${allowed.join(', ')})` : ''}`
    );
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return [`${keyPath(at)}: is required`];
  return [`${keyPath(at)}: ${issue.message}`];
}

/** The `!env NAME` tag: resolves to an EnvRef, so the schema can tell secrets from literals. */
function envTag(env: NodeJS.ProcessEnv): YAML.ScalarTag {
  return {
    tag: '!env',
    resolve: (spec: string) => new EnvRef(spec.trim(), env[spec.trim()])
  };
}

function parseTargetsText(file: string, text: string, env: NodeJS.ProcessEnv): ParsedTargetsFile {
  const doc = YAML.parseDocument(text, { customTags: [envTag(env)] });
  // A YAML error's message carries a code frame of the source line, which may hold a secret: keep the
  // first line (what and where) only.
  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => {
    const line = e.linePos?.[0];
    const where = line ? `line ${line.line}, column ${line.col}` : 'YAML';
    return `${where}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
  });
  if (yamlProblems.length > 0) throw invalid(file, yamlProblems);
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(file, ['(top level): must be a mapping with a `targets:` key (see docs/targets.md)']);
  }
  const top = targetsFileSchema.safeParse(raw, { reportInput: true });
  if (!top.success)
    throw invalid(
      file,
      top.error.issues.flatMap((i) => describeIssue(i, []))
    );

  const entries = new Map<string, TargetEntry>();
  const problems: string[] = [];
  for (const [name, value] of Object.entries(top.data.targets)) {
    const parsed = targetSchema.safeParse(value ?? {}, { reportInput: true });
    if (parsed.success) entries.set(name, parsed.data);
    else problems.push(...parsed.error.issues.flatMap((i) => describeIssue(i, ['targets', name])));
  }
  if (problems.length > 0) throw invalid(file, problems);
  return { file, entries };
}

async function parseTargetsFile(file: string, env: NodeJS.ProcessEnv): Promise<ParsedTargetsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SyncScopeError(
      'SYNCSCOPE_E_TARGETS_INVALID',
      missing
        ? `No targets file at ${file}. Start the demo stack (npm start) to get one with target "demo", or write one (docs/targets.md) and pass --targets FILE.`
        : `Cannot read the targets file ${file}: ${(error as Error).message}`,
      { file }
    );
  }
  return parseTargetsText(file, text, env);
}

/** Resolves one target's `!env` values, key material and sync rules. Problems are collected, then thrown. */
class TargetResolver {
  readonly problems: string[] = [];

  constructor(
    private readonly file: string,
    private readonly name: string
  ) {}

  private problem(key: string, message: string): undefined {
    this.problems.push(`targets.${this.name}.${key}: ${message}`);
    return undefined;
  }

  /** The value of a literal or `!env` field; an unset or empty variable is a problem naming it. */
  value(key: string, field: string | EnvRef): string | undefined;
  value(key: string, field: string | EnvRef | undefined): string | undefined;
  value(key: string, field: string | EnvRef | undefined): string | undefined {
    if (!(field instanceof EnvRef)) return field;
    if (field.value === undefined)
      return this.problem(
        key,
        `environment variable ${field.name} (from !env) is not set; set it and run again`
      );
    if (field.value.trim() === '')
      return this.problem(
        key,
        `environment variable ${field.name} (from !env) is empty; set it and run again`
      );
    return field.value.trim();
  }

  url(key: string, field: string | EnvRef | undefined, protocols: readonly string[]): string | undefined {
    const value = this.value(key, field);
    if (value === undefined || !(field instanceof EnvRef)) return value;
    const problem = urlProblem(value, protocols, false);
    return problem ? this.problem(key, `(from !env ${field.name}) ${problem}`) : value;
  }

  async signingKey(entry: TargetEntry['signing_key']): Promise<ProbeSigningKey | undefined> {
    const kid = entry.kid;
    if (entry.hs256_secret) {
      const text = this.value('signing_key.hs256_secret', entry.hs256_secret);
      if (text === undefined) return undefined;
      const env = entry.hs256_secret.name;
      let secret: Uint8Array;
      if ((entry.encoding ?? 'base64url') === 'base64url') {
        if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
          return this.problem(
            'signing_key.hs256_secret',
            `(from !env ${env}) is not base64url (the \`k\` of an HS256 JWK); if the variable holds the secret itself, add \`encoding: raw\` to signing_key`
          );
        }
        secret = new Uint8Array(Buffer.from(text, 'base64'));
      } else {
        secret = new Uint8Array(Buffer.from(text, 'utf8'));
      }
      if (secret.length < MIN_HS256_SECRET_BYTES) {
        return this.problem(
          'signing_key.hs256_secret',
          `(from !env ${env}) is ${secret.length} bytes; HS256 needs at least ${MIN_HS256_SECRET_BYTES}`
        );
      }
      return hideSigningKey({ kind: 'hs256', kid, secret });
    }
    const ref = entry.private_jwk!;
    const text = this.value('signing_key.private_jwk', ref);
    if (text === undefined) return undefined;
    const where = `(from !env ${ref.name})`;
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // JSON.parse's message quotes the input: never show it.
      return this.problem(
        'signing_key.private_jwk',
        `${where} is not JSON; it must hold a private JWK object`
      );
    }
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk) || typeof jwk.kty !== 'string') {
      return this.problem('signing_key.private_jwk', `${where} is not a JWK (a JSON object with "kty")`);
    }
    if (jwk.d === undefined) {
      return this.problem(
        'signing_key.private_jwk',
        `${where} is a public key (no "d"); the probe signs tokens, so it needs the private JWK`
      );
    }
    if (jwk.kid !== undefined && jwk.kid !== kid) {
      return this.problem(
        'signing_key.private_jwk',
        `${where} has kid ${JSON.stringify(jwk.kid)} but signing_key.kid is ${JSON.stringify(kid)}; make them the same`
      );
    }
    const alg = inferJwkAlg(jwk);
    if (!alg) {
      return this.problem(
        'signing_key.private_jwk',
        `${where} is a ${String(jwk.kty)}${jwk.crv ? `/${String(jwk.crv)}` : ''}${jwk.alg ? ` ${String(jwk.alg)}` : ''} key; probe keys are RS256 (RSA), ES256 (EC P-256) or EdDSA (OKP Ed25519)`
      );
    }
    try {
      await importJWK(jwk as JWK, alg);
    } catch {
      return this.problem('signing_key.private_jwk', `${where} is not a usable ${alg} private key`);
    }
    return hideSigningKey({ kind: 'private-jwk', kid, alg, jwk });
  }

  /**
   * A secret kept in a file (relative to the targets file), read now: missing, empty, or readable by
   * group or others is a problem naming the path, never the content.
   */
  async secretFile(key: string, relative: string): Promise<string | undefined> {
    const file = path.resolve(path.dirname(this.file), relative);
    try {
      const mode = (await stat(file)).mode & 0o777;
      if (mode & 0o077)
        return this.problem(
          key,
          `${file} is readable by others (mode ${mode.toString(8)}); it holds a secret: chmod 600 it`
        );
      const value = (await readFile(file, 'utf8')).trim();
      return value === '' ? this.problem(key, `${file} is empty`) : value;
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      return this.problem(key, `cannot read ${file} (${reason}); paths are relative to the targets file`);
    }
  }

  async syncRules(
    entry: TargetEntry,
    adminUrl: string | undefined,
    adminToken: string | undefined,
    fetchImpl: typeof fetch
  ): Promise<{ yaml: string; file?: string } | undefined> {
    if (entry.sync_rules.path !== undefined) {
      const file = path.resolve(path.dirname(this.file), entry.sync_rules.path);
      try {
        // Reports and the console quote this name (`sync_rules.yaml:12`): relative to the targets file,
        // as paths in it are, never this machine's absolute path.
        const shown = path.relative(path.dirname(this.file), file).split(path.sep).join('/');
        return { yaml: await readFile(file, 'utf8'), file: shown };
      } catch (error) {
        const reason =
          (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
        return this.problem(
          'sync_rules.path',
          `cannot read ${file} (${reason}); paths are relative to the targets file`
        );
      }
    }
    if (adminUrl === undefined || adminToken === undefined) return undefined; // already a problem
    return { yaml: await fetchCurrentSyncRules(this.name, adminUrl, adminToken, fetchImpl) };
  }

  resolveClaims(value: unknown, key: string): unknown {
    if (value instanceof EnvRef) return this.value(key, value);
    if (Array.isArray(value)) return value.map((v, i) => this.resolveClaims(v, `${key}.${i}`));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, this.resolveClaims(v, `${key}.${k}`)])
      );
    }
    return value;
  }
}

function inferJwkAlg(jwk: Record<string, unknown>): 'RS256' | 'ES256' | 'EdDSA' | undefined {
  const byKey = jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
  const okp = jwk.kty === 'OKP' && jwk.crv === 'Ed25519' ? 'EdDSA' : undefined;
  const inferred = byKey ?? okp;
  if (jwk.alg === undefined) return inferred;
  const named = jwk.alg === 'Ed25519' ? 'EdDSA' : jwk.alg;
  return named === inferred ? inferred : undefined;
}

/**
 * GET {admin_url}/api/sync-rules/v1/current: the real service answers `{data: {current: {content}}}`,
 * the dev server `{data: {content}}`; both are read.
 */
async function fetchCurrentSyncRules(
  target: string,
  adminUrl: string,
  adminToken: string,
  fetchImpl: typeof fetch
): Promise<string> {
  const url = new URL('/api/sync-rules/v1/current', adminUrl);
  const shown = urlWithoutPassword(url.toString());
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: { authorization: `Bearer ${adminToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(ADMIN_API_TIMEOUT_MS)
    });
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer in ${ADMIN_API_TIMEOUT_MS / 1000} s`
        : ((error as { cause?: Error }).cause?.message ?? (error as Error).message);
    throw new SyncScopeError(
      'SYNCSCOPE_E_ADMIN_API',
      `Target "${target}": cannot fetch the current sync rules from ${shown}: ${reason}. Check admin_url, or use sync_rules.path.`
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_ADMIN_API',
      `Target "${target}": the admin API at ${shown} refused the admin token (HTTP ${response.status}); use a token from the service's api.tokens.`
    );
  }
  const body = (await response.json().catch(() => undefined)) as
    | { data?: { content?: unknown; current?: { content?: unknown } | null } }
    | undefined;
  const content = body?.data?.current?.content ?? body?.data?.content;
  if (!response.ok || typeof content !== 'string') {
    throw new SyncScopeError(
      'SYNCSCOPE_E_ADMIN_API',
      `Target "${target}": ${shown} answered HTTP ${response.status} without sync rules content${response.status === 422 ? ' (no sync rules are deployed)' : ''}.`
    );
  }
  return content;
}

/** A target prints with its secrets hidden (JSON.stringify, util.inspect, pino). */
function hideTarget(target: ProbeTarget): ProbeTarget {
  return hideOnPrint(target, () => ({
    name: target.name,
    syncUrl: target.syncUrl,
    ...(target.adminUrl ? { adminUrl: target.adminUrl } : {}),
    ...(target.adminToken ? { adminToken: '[redacted]' } : {}),
    sourceUrl: urlWithoutPassword(target.sourceUrl),
    ...(target.syncRulesFile ? { syncRulesFile: target.syncRulesFile } : {}),
    signing: `[ProbeSigningKey kid=${target.signing.kid}]`,
    audience: target.audience,
    ...(target.issuer ? { issuer: target.issuer } : {}),
    ...(target.extraClaims ? { extraClaims: Object.keys(target.extraClaims) } : {}),
    ...(target.uploadUrl ? { uploadUrl: target.uploadUrl } : {}),
    ...(target.writeProbe ? { writeProbe: { ...target.writeProbe, uploadToken: '[redacted]' } } : {}),
    ...(target.schedule ? { schedule: target.schedule } : {}),
    ...(target.maxConcurrentProbes ? { maxConcurrentProbes: target.maxConcurrentProbes } : {}),
    ...(target.userSearch ? { userSearch: target.userSearch } : {}),
    ...(target.replicationHealth ? { replicationHealth: target.replicationHealth } : {}),
    ...(target.canaries ? { canaries: target.canaries } : {}),
    ...(target.rulesInsight ? { rulesInsight: target.rulesInsight } : {})
  }));
}

async function resolveTarget(
  file: string,
  name: string,
  entry: TargetEntry,
  fetchImpl: typeof fetch
): Promise<ProbeTarget> {
  const r = new TargetResolver(file, name);
  const syncUrl = r.url('sync_url', entry.sync_url, HTTP_PROTOCOLS);
  const adminUrl = r.url('admin_url', entry.admin_url, HTTP_PROTOCOLS);
  const adminToken = r.value('admin_token', entry.admin_token);
  const sourceUrl = r.url('source_url', entry.source_url, POSTGRES_PROTOCOLS);
  const uploadUrl = r.url('upload_url', entry.upload_url, HTTP_PROTOCOLS);
  const extraClaims = entry.extra_claims
    ? (r.resolveClaims(entry.extra_claims, 'extra_claims') as Record<string, unknown>)
    : undefined;
  const uploadToken = entry.write_probe?.upload_token_file
    ? await r.secretFile('write_probe.upload_token_file', entry.write_probe.upload_token_file)
    : entry.write_probe
      ? r.value('write_probe.upload_token', entry.write_probe.upload_token)
      : undefined;
  const signing = await r.signingKey(entry.signing_key);
  // The admin API is only asked once everything local is in order.
  const rules =
    r.problems.length === 0 ? await r.syncRules(entry, adminUrl, adminToken, fetchImpl) : undefined;
  if (r.problems.length > 0 || !syncUrl || !sourceUrl || !signing || !rules) throw invalid(file, r.problems);
  return hideTarget({
    name,
    syncUrl,
    ...(adminUrl ? { adminUrl } : {}),
    ...(adminToken ? { adminToken } : {}),
    sourceUrl,
    syncRulesYaml: rules.yaml,
    ...(rules.file ? { syncRulesFile: rules.file } : {}),
    signing,
    audience: entry.audience,
    ...(entry.issuer ? { issuer: entry.issuer } : {}),
    ...(extraClaims ? { extraClaims } : {}),
    ...(entry.probe_token_ttl_seconds ? { probeTokenTtlSeconds: entry.probe_token_ttl_seconds } : {}),
    ...(uploadUrl ? { uploadUrl } : {}),
    ...(entry.user_search ? { userSearch: userSearchAccess(entry.user_search) } : {}),
    ...(entry.job_deadline_seconds ? { jobDeadlineMs: entry.job_deadline_seconds * 1000 } : {}),
    ...(entry.replication_health ? { replicationHealth: replicationHealthOf(entry.replication_health) } : {}),
    ...(entry.schedule ? { schedule: scheduleOf(entry.schedule) } : {}),
    ...(entry.max_concurrent_probes ? { maxConcurrentProbes: entry.max_concurrent_probes } : {}),
    ...(entry.canaries ? { canaries: canariesOf(entry.canaries) } : {}),
    ...(entry.rules_insight ? { rulesInsight: rulesInsightOf(entry.rules_insight) } : {}),
    ...(entry.write_probe && uploadToken
      ? {
          writeProbe: {
            userId: entry.write_probe.user_id,
            table: entry.write_probe.table,
            values: entry.write_probe.values,
            markerColumn: entry.write_probe.marker_column,
            uploadToken
          }
        }
      : {})
  });
}

function unknownTarget(file: string, name: string, known: string[]): SyncScopeError {
  return new SyncScopeError(
    'SYNCSCOPE_E_TARGET_UNKNOWN',
    `No target named "${name}" in ${file}; it has ${known.length === 1 ? 'target' : 'targets'} ${known.map((n) => `"${n}"`).join(', ')}.`,
    { file, target: name, known }
  );
}

/** The target names a targets file defines (structure checked, nothing resolved). */
export async function listTargetNames(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return [...(await parseTargetsFile(path.resolve(file), env)).entries.keys()];
}

/**
 * Reads a targets file (YAML, docs/targets.md): checks every target's structure, then resolves the
 * selected ones (all by default): `!env` secrets, signing keys, and sync rules from a file or the admin
 * API. Errors are SyncScopeErrors naming the file and key path, and never contain a secret.
 */
export async function loadTargets(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadTargetsOptions = {}
): Promise<Map<string, ProbeTarget>> {
  const parsed = await parseTargetsFile(path.resolve(file), env);
  const names = options.only ?? [...parsed.entries.keys()];
  const targets = new Map<string, ProbeTarget>();
  for (const name of names) {
    const entry = parsed.entries.get(name);
    if (!entry) throw unknownTarget(parsed.file, name, [...parsed.entries.keys()]);
    targets.set(name, await resolveTarget(parsed.file, name, entry, options.fetch ?? fetch));
  }
  return targets;
}

/**
 * Each target's `max_concurrent_probes` (targets without one are absent): the file's structure only, no
 * secret resolved, cheap enough to read before every round of job claims.
 */
export async function listTargetLimits(
  file: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<Record<string, number>> {
  const parsed = await parseTargetsFile(path.resolve(file), env);
  return Object.fromEntries(
    [...parsed.entries]
      .filter(([, entry]) => entry.max_concurrent_probes !== undefined)
      .map(([name, entry]) => [name, entry.max_concurrent_probes!])
  );
}

/**
 * Only the targets' probe signing keys, each resolved on its own (its `!env` secret and nothing else: no
 * admin API, no other secret), so publishing a key does not depend on the rest of its target.
 */
export async function loadSigningKeys(
  file: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<{ target: string; key?: ProbeSigningKey; problem?: string }[]> {
  const parsed = await parseTargetsFile(path.resolve(file), env);
  const keys: { target: string; key?: ProbeSigningKey; problem?: string }[] = [];
  for (const [name, entry] of parsed.entries) {
    const r = new TargetResolver(parsed.file, name);
    const key = await r.signingKey(entry.signing_key);
    keys.push(
      key ? { target: name, key } : { target: name, problem: invalid(parsed.file, r.problems).message }
    );
  }
  return keys;
}

/** One target from a targets file (see loadTargets). */
export async function loadTarget(
  file: string,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  options: Omit<LoadTargetsOptions, 'only'> = {}
): Promise<ProbeTarget> {
  return (await loadTargets(file, env, { ...options, only: [name] })).get(name)!;
}

/** `replication_health` as the agent reads it (keys left out keep their defaults). */
function replicationHealthOf(
  entry: NonNullable<TargetEntry['replication_health']>
): ProbeTarget['replicationHealth'] {
  return {
    ...(entry.every_seconds !== undefined ? { everySeconds: entry.every_seconds } : {}),
    ...(entry.wal_budget_bytes !== undefined ? { walBudgetBytes: entry.wal_budget_bytes } : {}),
    ...(entry.inactive_grace_seconds !== undefined
      ? { inactiveGraceSeconds: entry.inactive_grace_seconds }
      : {})
  };
}

/** `canaries` in milliseconds, users as the schedule's. */
function canariesOf(entry: NonNullable<TargetEntry['canaries']>): NonNullable<ProbeTarget['canaries']> {
  return {
    users: entry.users.map(scheduledUserOf),
    settleMs: entry.settle_seconds * 1000,
    reconcileMs: entry.reconcile_seconds * 1000,
    ...(entry.freshness ? { freshnessEveryMs: entry.freshness.every_seconds * 1000 } : {})
  };
}

/** `schedule` as the agents read it (keys left out stay out). */
function scheduleOf(entry: NonNullable<TargetEntry['schedule']>): ProbeSchedule {
  return {
    users: (entry.users ?? []).map(scheduledUserOf),
    ...(entry.every_seconds !== undefined ? { everySeconds: entry.every_seconds } : {}),
    ...(entry.sample !== undefined ? { sample: entry.sample } : {}),
    ...(entry.sweep ? { sweepPeriodSeconds: entry.sweep.period_seconds } : {}),
    ...(entry.users_query !== undefined ? { usersQuery: entry.users_query } : {}),
    ...(entry.users_query_timeout_seconds !== undefined
      ? { usersQueryTimeoutMs: entry.users_query_timeout_seconds * 1000 }
      : {}),
    ...(entry.mode ? { mode: entry.mode } : {})
  };
}

/** `rules_insight` as the CLI and agent read it (keys left out keep their defaults). */
function rulesInsightOf(entry: NonNullable<TargetEntry['rules_insight']>): ProbeTarget['rulesInsight'] {
  return {
    ...(entry.every_seconds !== undefined ? { everySeconds: entry.every_seconds } : {}),
    ...(entry.bucket_limit !== undefined ? { bucketLimit: entry.bucket_limit } : {}),
    ...(entry.bucket_thresholds !== undefined ? { bucketThresholds: entry.bucket_thresholds } : {}),
    ...(entry.sample_size !== undefined ? { sampleSize: entry.sample_size } : {})
  };
}

/** A schedule entry (`{user, subscribe}`, a bare id read as `{user}`; checked by the schema). */
function scheduledUserOf(entry: { user: string; subscribe: string[] }): ScheduledUser {
  return { userId: entry.user, subscriptions: entry.subscribe.map(parseSubscriptionText) };
}
