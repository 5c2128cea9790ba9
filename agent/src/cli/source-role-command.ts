import { SyncScopeError } from '@syncscope/core';
import type { Command } from 'commander';
import type { SecretScrubber } from '../output/secret-scrubber.ts';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import type { UsersIo } from './users-commands.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `syncscope source-role --target T`: prints the SQL for a least-privilege source role (psql script):
 * SELECT on what the target's rules and user search read, read-only by default, role-level timeouts.
 * It reads the source's catalog (table names, key columns) through source_url; it never prints a secret.
 */
export function registerSourceRoleCommand(
  program: Command,
  io: Omit<UsersIo, 'readStdin'> & { scrubber: SecretScrubber }
): void {
  program
    .command('source-role')
    .description(
      "Print the SQL for a least-privilege source role: SELECT on the tables (and columns) the target's sync rules read, read-only, with timeouts."
    )
    .requiredOption('--target <name>', 'target name in the targets file')
    .option('--role <name>', 'the role to create or update', 'syncscope_reader')
    .option(
      '--password-env <VAR>',
      'psql reads the password from this environment variable when it runs the script (else pass -v syncscope_source_password=…)'
    )
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .action(
      io.guarded(async (opts: { target: string; role: string; passwordEnv?: string; targets?: string }) => {
        if (opts.passwordEnv !== undefined && !ENV_NAME.test(opts.passwordEnv)) {
          throw new SyncScopeError(
            'SYNCSCOPE_E_REQUEST_INVALID',
            `--password-env ${opts.passwordEnv} is not an environment variable name (letters, digits and _).`
          );
        }
        const target = await resolveTarget(targetsSource(opts.targets, io.env), opts.target, io.scrubber);
        const { loadSyncRules } = await import('@syncscope/core/sync-rules/load-sync-rules');
        const { sourceAccessOf } = await import('@syncscope/core/source-access/source-access');
        const { sourceGrantsAt, sourceRoleScript } = await import(
          '@syncscope/core/source-access/source-role-sql'
        );
        const rules = loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile });
        const { grants, missing, database } = await sourceGrantsAt(
          target.sourceUrl,
          sourceAccessOf(rules, target.userSearch)
        );
        io.out(
          sourceRoleScript({
            target: target.name,
            role: opts.role,
            database,
            grants,
            missing,
            ...(opts.passwordEnv ? { passwordEnv: opts.passwordEnv } : {})
          })
        );
        return 0;
      })
    );
}
