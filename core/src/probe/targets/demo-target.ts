import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { OPS_ROLE_NAMES, opsRolePasswordFile } from '../../ops-db/ops-role-names.ts';
import { applySourceRole } from '../../source-access/apply-source-role.ts';
import { sourceAccessOf, userSearchAccess } from '../../source-access/source-access.ts';
import type { LoadedSyncRules } from '../../sync-rules/load-sync-rules.ts';
import { TARGETS_FILE_NAME } from './load-targets.ts';

/** The target `npm start` writes for the embedded stack, and the variables its `!env` tags read. */
export const DEMO_TARGET = {
  name: 'demo',
  kid: 'syncscope-probe-1',
  audience: 'syncscope-probe',
  /** Read-only login role the demo target's source_url uses. */
  role: 'syncscope_probe',
  env: {
    apiToken: 'SYNCSCOPE_DEMO_API_TOKEN',
    sourceUrl: 'SYNCSCOPE_DEMO_SOURCE_URL',
    probeJwk: 'SYNCSCOPE_DEMO_PROBE_JWK'
  }
} as const;

/** The demo's users table, which the console's user search reads (these two columns only). */
export const DEMO_USER_SEARCH = { table: 'public.users', id_column: 'id', email_column: 'email' };

/** Where the embedded stack keeps what the demo target's variables are filled from. */
export function demoStackFiles(home: string): {
  probeJwk: string;
  apiToken: string;
  probeDbPassword: string;
  writeProbeToken: string;
} {
  return {
    writeProbeToken: path.join(home, 'secrets', 'write-probe-upload-token'),
    probeJwk: path.join(home, 'keys', `${DEMO_TARGET.kid}.private.jwk.json`),
    apiToken: path.join(home, 'secrets', 'sync-api-token'),
    probeDbPassword: path.join(home, 'secrets', 'probe-db-password')
  };
}

/** `!env NAME` in generated YAML. */
class EnvTagged {
  constructor(readonly name: string) {}
}
const envTagForWriting: YAML.ScalarTag = {
  tag: '!env',
  identify: (value) => value instanceof EnvTagged,
  resolve: (name) => new EnvTagged(name),
  stringify: (item) => (item.value as EnvTagged).name
};

/**
 * Writes `<home>/targets.yaml` with target `demo` for the running embedded stack. It holds no secret:
 * the admin token, source URL and probe key come from `!env` variables, which the CLI fills from the
 * files under `<home>` (fillDemoTargetEnv).
 */
export async function writeDemoTargetsFile(input: {
  home: string;
  syncUrl: string;
  uploadUrl: string;
  syncRulesPath: string;
  /** The write probe's test user and row (its upload token from the file the stack keeps rotating). */
  writeProbe?: { userId: string; table: string; values: Record<string, string>; markerColumn: string };
  /** Users the agent holds as live canaries; freshness markers go through the write probe's path. */
  canaries?: { users: string[]; freshnessEverySeconds?: number };
  /** Light-probe every demo user once per this many seconds (the fleet view's share of users verified). */
  sweepPeriodSeconds?: number;
}): Promise<string> {
  const doc = new YAML.Document(
    {
      targets: {
        [DEMO_TARGET.name]: {
          sync_url: input.syncUrl,
          admin_url: input.syncUrl,
          admin_token: new EnvTagged(DEMO_TARGET.env.apiToken),
          source_url: new EnvTagged(DEMO_TARGET.env.sourceUrl),
          sync_rules: { path: path.resolve(input.syncRulesPath) },
          signing_key: { kid: DEMO_TARGET.kid, private_jwk: new EnvTagged(DEMO_TARGET.env.probeJwk) },
          audience: DEMO_TARGET.audience,
          upload_url: input.uploadUrl,
          // The console's user search reads these two columns of the demo's users table, nothing else.
          user_search: DEMO_USER_SEARCH,
          // A demo shows a change soon: the agent reads its slots and WAL every 10 s (30 s by default).
          replication_health: { every_seconds: 10 },
          // Rows in no bucket (syncscope_rules_uncovered_rows) every minute rather than every 5.
          rules_insight: { every_seconds: 60 },
          ...(input.writeProbe
            ? {
                write_probe: {
                  user_id: input.writeProbe.userId,
                  table: input.writeProbe.table,
                  values: input.writeProbe.values,
                  marker_column: input.writeProbe.markerColumn,
                  // Read at every write probe: the stack re-mints this short-lived credential.
                  upload_token_file: path.relative(input.home, demoStackFiles(input.home).writeProbeToken)
                }
              }
            : {}),
          ...(input.canaries
            ? {
                canaries: {
                  users: input.canaries.users,
                  ...(input.canaries.freshnessEverySeconds && input.writeProbe
                    ? { freshness: { every_seconds: input.canaries.freshnessEverySeconds } }
                    : {})
                }
              }
            : {}),
          ...(input.sweepPeriodSeconds
            ? {
                schedule: {
                  sweep: { period_seconds: input.sweepPeriodSeconds },
                  users_query: `SELECT ${DEMO_USER_SEARCH.id_column} AS user_id FROM ${DEMO_USER_SEARCH.table}`,
                  mode: 'light'
                }
              }
            : {})
        }
      }
    },
    { customTags: [envTagForWriting] }
  );
  const file = path.join(input.home, TARGETS_FILE_NAME);
  const header = [
    '# Generated by npm start for the embedded stack; edits are overwritten. Copy it to add targets.',
    '# The !env variables are filled by `syncscope --target demo` from the files under this folder.',
    '# Format: docs/targets.md'
  ].join('\n');
  await writeFile(file, `${header}\n${doc.toString()}`, { mode: 0o644 });
  return file;
}

async function readTrimmed(file: string): Promise<string | undefined> {
  return existsSync(file) ? (await readFile(file, 'utf8')).trim() || undefined : undefined;
}

/**
 * Fills the demo target's variables that are unset, from `<home>`: the probe key, the sync server's
 * admin token (or SYNCSCOPE_API_TOKEN, as the stack uses it), and a source URL for the read-only probe
 * role (or, before the stack made that role, its superuser). Returns the variables it set and the
 * files it found missing; it never prints a value.
 */
export async function fillDemoTargetEnv(
  env: NodeJS.ProcessEnv,
  home = path.resolve(/*turbopackIgnore: true*/ env.SYNCSCOPE_HOME || '.syncscope')
): Promise<{ set: string[]; missingFiles: string[] }> {
  const files = demoStackFiles(home);
  const set: string[] = [];
  const missingFiles: string[] = [];
  const fill = (name: string, value: string | undefined, file: string) => {
    if (env[name] !== undefined) return;
    if (value === undefined) {
      missingFiles.push(file);
      return;
    }
    env[name] = value;
    set.push(name);
  };
  fill(DEMO_TARGET.env.probeJwk, await readTrimmed(files.probeJwk), files.probeJwk);
  fill(
    DEMO_TARGET.env.apiToken,
    env.SYNCSCOPE_API_TOKEN || (await readTrimmed(files.apiToken)),
    files.apiToken
  );
  if (env[DEMO_TARGET.env.sourceUrl] === undefined) {
    const bind = env.SYNCSCOPE_BIND_HOST || '127.0.0.1';
    const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
    const port = env.SYNCSCOPE_PG_PORT || '5433';
    const rolePassword = await readTrimmed(files.probeDbPassword);
    const [user, password] = rolePassword
      ? [DEMO_TARGET.role, rolePassword]
      : [env.SYNCSCOPE_PG_USER || 'postgres', env.SYNCSCOPE_PG_PASSWORD || 'postgres'];
    env[DEMO_TARGET.env.sourceUrl] =
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/app`;
    set.push(DEMO_TARGET.env.sourceUrl);
  }
  if (env.SYNCSCOPE_OPS_DATABASE_URL === undefined) {
    env.SYNCSCOPE_OPS_DATABASE_URL = opsDatabaseUrl(env);
    set.push('SYNCSCOPE_OPS_DATABASE_URL');
  }
  return { set, missingFiles };
}

/**
 * SYNCSCOPE_OPS_DATABASE_URL, or else the embedded stack's `syncscope` database (probe history, jobs,
 * console users and the audit log), reached with the stack's own settings as its agent role; `owner` for
 * the CLI's administration (console users and grants, ingest keys), which the agent role may not change.
 */
export function opsDatabaseUrl(env: NodeJS.ProcessEnv, role: 'agent' | 'owner' = 'agent'): string {
  if (env.SYNCSCOPE_OPS_DATABASE_URL) return env.SYNCSCOPE_OPS_DATABASE_URL;
  const bind = env.SYNCSCOPE_BIND_HOST || '127.0.0.1';
  const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  // The stack's agent role (INSERT-only on the audit log), or its owner for administration (console users,
  // ingest keys), once `npm start` made them; before, the superuser.
  const passwordFile = opsRolePasswordFile(
    path.resolve(/*turbopackIgnore: true*/ env.SYNCSCOPE_HOME || '.syncscope'),
    role
  );
  const [rawUser, rawPassword] = existsSync(passwordFile)
    ? [OPS_ROLE_NAMES[role], readFileSync(passwordFile, 'utf8').trim()]
    : [env.SYNCSCOPE_PG_USER || 'postgres', env.SYNCSCOPE_PG_PASSWORD || 'postgres'];
  const user = encodeURIComponent(rawUser);
  const password = encodeURIComponent(rawPassword);
  return `postgres://${user}:${password}@${host}:${env.SYNCSCOPE_PG_PORT || '5433'}/syncscope`;
}

/**
 * Creates (or updates) the demo's probe role as `syncscope source-role` prints it: SELECT on what the
 * rules (and the user search) read and nothing else, read-only by default, with role-level timeouts. A
 * role an older version made with pg_read_all_data loses it. Idempotent; run it as a superuser.
 */
export async function ensureReadOnlyProbeRole(
  adminUrl: string,
  password: string,
  rules: LoadedSyncRules,
  role: string = DEMO_TARGET.role
): Promise<void> {
  await applySourceRole(adminUrl, {
    role,
    password,
    access: sourceAccessOf(rules, userSearchAccess(DEMO_USER_SEARCH))
  });
}
