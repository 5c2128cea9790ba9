import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncScopeError } from '@syncscope/core';
import { setupOpsDatabase } from '@syncscope/core/ops-db/ops-roles';
import { ensureReadOnlyProbeRole } from '@syncscope/core/probe/targets/demo-target';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import pg from 'pg';
import { applyDemoSchema } from '../schema/index.ts';
import { seedDemoData } from '../seed/index.ts';

/** Every password the setup gives a role; compose requires each (`:?`), and so does this script. */
const PASSWORD_VARIABLES = {
  owner: 'SYNCSCOPE_OPS_OWNER_PASSWORD',
  console: 'SYNCSCOPE_OPS_CONSOLE_PASSWORD',
  agent: 'SYNCSCOPE_OPS_AGENT_PASSWORD',
  demoApp: 'SYNCSCOPE_DEMO_APP_PASSWORD',
  source: 'SYNCSCOPE_SOURCE_PASSWORD'
} as const;

export const DEMO_APP_ROLE = 'demo_app';
/**
 * The rules the compose stack's PowerSync service runs (powersync/service.yaml reads the same file); the
 * demo image, whose compiled setup is not beside the sources, names its copy in
 * SYNCSCOPE_SETUP_SYNC_RULES_FILE.
 */
const REPO_SYNC_RULES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../powersync/sync_rules.yaml'
);

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value)
    throw new SyncScopeError(
      'SYNCSCOPE_E_OPS_ROLE_PASSWORD_MISSING',
      `Set ${name}: the setup gives it to a role.`
    );
  return value;
}

/** The demo backend's role: reads and writes the app's rows, owns nothing, cannot replicate. */
export async function ensureDemoAppRole(adminUrl: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const name = pg.escapeIdentifier(DEMO_APP_ROLE);
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [DEMO_APP_ROLE]);
    if (!rowCount) await client.query(`CREATE ROLE ${name}`);
    await client.query(
      `ALTER ROLE ${name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD ${pg.escapeLiteral(password)}`
    );
    await client.query(`GRANT USAGE ON SCHEMA public TO ${name}`);
    await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${name}`);
    await client.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * Compose's one-shot setup, the only SyncScope process that connects as the superuser
 * (SYNCSCOPE_SETUP_SUPERUSER_URL, without a database): the demo schema and seed, the demo backend's
 * role, the source read role, and the ops database's roles and migrations.
 */
export async function composeSetup(env: NodeJS.ProcessEnv): Promise<void> {
  const passwords = Object.fromEntries(
    Object.entries(PASSWORD_VARIABLES).map(([role, variable]) => [role, required(env, variable)])
  ) as Record<keyof typeof PASSWORD_VARIABLES, string>;
  const base = required(env, 'SYNCSCOPE_SETUP_SUPERUSER_URL').replace(/\/+$/, '');
  const appUrl = `${base}/app`;
  const app = new pg.Pool({ connectionString: appUrl, max: 2 });
  try {
    await applyDemoSchema(app);
    await seedDemoData(app, { records: Number(env.SYNCSCOPE_SEED_RECORDS || 200) });
  } finally {
    await app.end();
  }
  await ensureDemoAppRole(appUrl, passwords.demoApp);
  // The source read role: the SQL `syncscope source-role` prints for these rules (only the tables and
  // columns they read, read-only, with timeouts).
  const rulesFile = env.SYNCSCOPE_SETUP_SYNC_RULES_FILE || REPO_SYNC_RULES;
  const rules = loadSyncRules(await readFile(rulesFile, 'utf8'), { file: rulesFile });
  await ensureReadOnlyProbeRole(appUrl, passwords.source, rules);
  await setupOpsDatabase({
    superuserUrl: `${base}/syncscope`,
    passwords: { owner: passwords.owner, console: passwords.console, agent: passwords.agent }
  });
}
