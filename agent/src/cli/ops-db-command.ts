import { SyncScopeError } from '@syncscope/core/errors/index';
import type { Command } from 'commander';
import type { UsersIo } from './users-commands.ts';

/** The server (no database) the setup connects to as a superuser, and each ops role's password. */
export const OPS_SETUP_ENV = {
  superuserUrl: 'SYNCSCOPE_SETUP_SUPERUSER_URL',
  owner: 'SYNCSCOPE_OPS_OWNER_PASSWORD',
  console: 'SYNCSCOPE_OPS_CONSOLE_PASSWORD',
  agent: 'SYNCSCOPE_OPS_AGENT_PASSWORD'
} as const;

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new SyncScopeError('SYNCSCOPE_E_OPS_ROLE_PASSWORD_MISSING', `Set ${name}: ${what}.`);
  return value;
}

/** The superuser's server URL, refused when it already names a database (--database does). */
function serverUrl(value: string, database: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `${OPS_SETUP_ENV.superuserUrl} is not a URL: give postgres://USER:PASSWORD@HOST:5432 (the server, no database).`
    );
  }
  if (!/^postgres(ql)?:$/.test(url.protocol) || url.pathname.replace(/\/+$/, '') !== '')
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `${OPS_SETUP_ENV.superuserUrl} must be a postgres:// URL of the server without a database (postgres://USER:PASSWORD@HOST:5432${url.search}); the ops database is --database (${database}).`
    );
  return url;
}

/**
 * `syncscope ops-db setup`: what compose's setup service and `npm start` do for the ops database, on its
 * own, for deployments that bring their own Postgres (the Kubernetes setup job): creates the database
 * when missing, then `setupOpsDatabase` (roles with these passwords, ownership, migrations as the owner,
 * exactly OPS_TABLE_GRANTS). Idempotent: run it at every upgrade, before the new agents and console.
 */
export function registerOpsDbCommand(program: Command, io: Omit<UsersIo, 'readStdin'>): void {
  program
    .command('ops-db')
    .description("Set up SyncScope's ops database.")
    .command('setup')
    .description(
      `Create the ops database if missing, its roles (owner, console, agent) and grants, and apply its migrations. Reads ${Object.values(OPS_SETUP_ENV).join(', ')}.`
    )
    .option('--database <name>', 'the ops database', 'syncscope')
    .action(
      io.guarded(async (opts: { database: string }) => {
        const base = serverUrl(
          required(
            io.env,
            OPS_SETUP_ENV.superuserUrl,
            'a superuser (or CREATEROLE and CREATEDB) URL of the server'
          ),
          opts.database
        );
        const passwords = {
          owner: required(io.env, OPS_SETUP_ENV.owner, 'the owner role runs the migrations'),
          console: required(io.env, OPS_SETUP_ENV.console, "the console's role"),
          agent: required(io.env, OPS_SETUP_ENV.agent, "the agents' role")
        };
        const { createOpsDatabaseIfMissing, setupOpsDatabase, withDatabase } = await import(
          '@syncscope/core/ops-db/ops-roles'
        );
        if (await createOpsDatabaseIfMissing(base.toString(), opts.database))
          io.out(`Created database ${opts.database}.\n`);
        const { applied } = await setupOpsDatabase({
          superuserUrl: withDatabase(base.toString(), opts.database),
          passwords
        });
        io.out(
          `Ops database ${opts.database} set up: roles syncscope_owner, syncscope_console, syncscope_agent; ${
            applied.length ? `applied ${applied.join(', ')}` : 'no migration pending'
          }.\n`
        );
        return 0;
      })
    );
}
