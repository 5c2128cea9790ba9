import { SyncScopeError } from '@syncscope/core/errors/index';
import type { SourceAccess } from '@syncscope/core/source-access/source-access';
import type { Command } from 'commander';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import type { UsersIo } from './users-commands.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Io = Omit<UsersIo, 'readStdin'> & { scrubber: SecretScrubber };
interface Options {
  target: string;
  role: string;
  passwordEnv?: string;
  applyUrlEnv?: string;
  targets?: string;
}

/** The value of the environment variable a flag names; refused when the name is invalid or it is unset. */
function fromEnv(io: Io, flag: string, name: string | undefined, required: boolean): string | undefined {
  if (name === undefined) return undefined;
  if (!ENV_NAME.test(name))
    throw new SyncScopeError(
      'SYNCSCOPE_E_REQUEST_INVALID',
      `${flag} ${name} is not an environment variable name (letters, digits and _).`
    );
  const value = io.env[name];
  // Both are secrets (a password, a URL with one): never echoed, even inside an error message.
  io.scrubber.add(value);
  try {
    if (value) io.scrubber.add(decodeURIComponent(new URL(value).password));
  } catch {
    // not a URL: the value itself is registered
  }
  if (required && !value)
    throw new SyncScopeError(
      'SYNCSCOPE_E_REQUEST_INVALID',
      `${flag} ${name}: that environment variable is unset or empty.`
    );
  return value;
}

/** The printed psql script: grants resolved through the target's source_url (catalog reads only). */
async function printScript(
  io: Io,
  opts: Options,
  targetName: string,
  sourceUrl: string,
  access: SourceAccess
) {
  const { sourceGrantsAt, sourceRoleScript } = await import('@syncscope/core/source-access/source-role-sql');
  const { grants, missing, database } = await sourceGrantsAt(sourceUrl, access);
  const passwordEnv = opts.passwordEnv ? { passwordEnv: opts.passwordEnv } : {};
  io.out(
    sourceRoleScript({ target: targetName, role: opts.role, database, grants, missing, ...passwordEnv })
  );
}

/** Applies the same statements with an admin URL (no psql needed); prints what was granted, never the password. */
async function applyRole(io: Io, opts: Options, adminUrl: string, access: SourceAccess) {
  const password = fromEnv(io, '--password-env', opts.passwordEnv, true);
  if (!password)
    throw new SyncScopeError(
      'SYNCSCOPE_E_REQUEST_INVALID',
      '--apply-url-env needs --password-env VAR: the variable holding the role’s password.'
    );
  const { applySourceRole } = await import('@syncscope/core/source-access/apply-source-role');
  const { grants, missing } = await applySourceRole(adminUrl, { role: opts.role, password, access });
  const listed = grants.map(
    (g) => `${g.schema}.${g.table}${g.columns === 'all' ? '' : ` (${g.columns.join(', ')})`}`
  );
  io.out(`Role ${opts.role}: read-only, SELECT on ${listed.join(', ')}.\n`);
  for (const m of missing) io.out(`${m}: the rules read it but the source has no such table (no grant).\n`);
}

/**
 * `syncscope source-role --target T`: the least-privilege source role for a target: SELECT on what its
 * rules and user search read, read-only by default, role-level timeouts. Prints the SQL for psql, or with
 * `--apply-url-env` applies it with that admin URL. It never prints a secret.
 */
export function registerSourceRoleCommand(program: Command, io: Io): void {
  program
    .command('source-role')
    .description(
      "Print (or apply) the SQL for a least-privilege source role: SELECT on the tables (and columns) the target's sync rules read, read-only, with timeouts."
    )
    .requiredOption('--target <name>', 'target name in the targets file')
    .option('--role <name>', 'the role to create or update', 'syncscope_reader')
    .option(
      '--password-env <VAR>',
      'the environment variable holding the role’s password (psql reads it when it runs the script; else pass -v syncscope_source_password=…)'
    )
    .option(
      '--apply-url-env <VAR>',
      'apply the SQL now, connecting with the admin URL in this environment variable'
    )
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .action(
      io.guarded(async (opts: Options) => {
        fromEnv(io, '--password-env', opts.passwordEnv, false);
        const adminUrl = fromEnv(io, '--apply-url-env', opts.applyUrlEnv, true);
        const { resolveTarget, targetsSource } = await import('../probe/resolve-target.ts');
        const target = await resolveTarget(targetsSource(opts.targets, io.env), opts.target, io.scrubber);
        const { loadSyncRules } = await import('@syncscope/core/sync-rules/load-sync-rules');
        const { sourceAccessOf } = await import('@syncscope/core/source-access/source-access');
        const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
        const access = sourceAccessOf(rules, target.userSearch);
        if (adminUrl) await applyRole(io, opts, adminUrl, access);
        else await printScript(io, opts, target.name, target.sourceUrl, access);
        return 0;
      })
    );
}
