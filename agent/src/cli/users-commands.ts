import { CONSOLE_ROLES, listConsoleUsers } from '@syncscope/core/console-users/console-users';
import { describeGrant } from '@syncscope/core/console-users/describe-grant';
import { generatePassword } from '@syncscope/core/console-users/password-hash';
import { SyncScopeError } from '@syncscope/core/errors/index';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import type { Command } from 'commander';

type ConsoleGrants = typeof import('@syncscope/core/console-users/console-grants');

export interface UsersIo {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
  /** The password typed or piped on stdin; undefined when stdin is a terminal with nothing piped. */
  readStdin(): Promise<string | undefined>;
  guarded<A extends unknown[]>(body: (...args: A) => Promise<number>): (...args: A) => Promise<void>;
}

async function withOps<T>(
  env: NodeJS.ProcessEnv,
  opsDb: string | undefined,
  fn: (ops: OpsDatabase, grants: ConsoleGrants) => Promise<T>
) {
  // Loaded when a command runs (run-cli.ts).
  const { opsDatabaseUrl } = await import('@syncscope/core/probe/targets/demo-target');
  const { migrateOpsDatabase, OpsDatabase } = await import('@syncscope/core/ops-db/ops-database');
  const grants = await import('@syncscope/core/console-users/console-grants');
  const url = opsDb ?? opsDatabaseUrl(env, 'owner');
  await migrateOpsDatabase(url);
  const ops = new OpsDatabase(url);
  try {
    return await fn(ops, grants);
  } finally {
    await ops.close();
  }
}

const opsOption = [
  '--ops-db <url>',
  'ops database URL (default: $SYNCSCOPE_OPS_DATABASE_URL, else the embedded stack)'
] as const;

type ScopeOptions = { target?: string; allTargets?: boolean };

/** `--target T` or `--all-targets`, exactly one (a grant's scope is never implied). */
function scopeOf(opts: ScopeOptions): string | null {
  if (Boolean(opts.target) === Boolean(opts.allTargets))
    throw new SyncScopeError(
      'SYNCSCOPE_E_USER_INVALID',
      'Say which targets the grant is for: --target NAME, or --all-targets.'
    );
  return opts.target ?? null;
}

/**
 * `syncscope users add|list|set-role|grant|revoke`: console accounts and their roles per target, managed
 * from a shell on a trusted machine (how the first admin comes to be; there is no default password).
 * Every change is audited in the same transaction as the change.
 */
export function registerUsersCommands(program: Command, io: UsersIo): void {
  const users = program
    .command('users')
    .description('Manage console users (ops database: --ops-db or SYNCSCOPE_OPS_DATABASE_URL).');
  const actor = () => `cli:${io.env.USER ?? 'unknown'}`;
  users
    .command('add')
    .description('Add a console user. The password is read from stdin, or generated and printed once.')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', `one of ${CONSOLE_ROLES.join(', ')}`)
    .option('--target <name>', 'the role is for this target only (default: all targets)')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { email: string; role: string; target?: string; opsDb?: string }) => {
        const typed = (await io.readStdin())?.replace(/\r?\n$/, '');
        const password = typed || generatePassword();
        const user = await withOps(io.env, opts.opsDb, (ops, grants) =>
          grants.addConsoleUser(
            ops.pool,
            { email: opts.email, role: opts.role, password, target: opts.target },
            actor()
          )
        );
        io.out(`Added ${user.email} (${user.grants.map(describeGrant).join(', ')}).\n`);
        if (!typed) io.out(`Password (shown once, store it now): ${password}\n`);
        return 0;
      })
    );
  users
    .command('list')
    .description('List console users and their grants (role on target, or on all targets).')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { opsDb?: string }) => {
        const list = await withOps(io.env, opts.opsDb, (ops) => listConsoleUsers(ops.pool));
        for (const u of list)
          io.out(
            `${u.email}\t${u.grants.map(describeGrant).join(', ') || 'no grants'}${u.disabled ? '\tdisabled' : ''}\n`
          );
        if (list.length === 0) io.out('No console users yet: add one with `syncscope users add`.\n');
        return 0;
      })
    );
  users
    .command('set-role')
    .description("Replace a console user's grants with one role on all targets (audited).")
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', `one of ${CONSOLE_ROLES.join(', ')}`)
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { email: string; role: string; opsDb?: string }) => {
        const changed = await withOps(io.env, opts.opsDb, (ops, grants) =>
          grants.setConsoleUserRole(ops.pool, opts.email, opts.role, actor())
        );
        if (!changed)
          throw new SyncScopeError(
            'SYNCSCOPE_E_USER_INVALID',
            `No console user ${opts.email}; add them with \`syncscope users add\`.`
          );
        io.out(`${opts.email} is now ${opts.role} on all targets.\n`);
        return 0;
      })
    );
  registerGrantCommands(users, io, actor);
}

function registerGrantCommands(users: Command, io: UsersIo, actor: () => string): void {
  users
    .command('grant')
    .description('Give a console user a role on one target or on all targets (audited).')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', `one of ${CONSOLE_ROLES.join(', ')}`)
    .option('--target <name>', 'the target the role is for')
    .option('--all-targets', 'the role is for every target')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { email: string; role: string; opsDb?: string } & ScopeOptions) => {
        const target = scopeOf(opts);
        const { previous } = await withOps(io.env, opts.opsDb, (ops, grants) =>
          grants.grantConsoleRole(ops.pool, { email: opts.email, role: opts.role, target }, actor())
        );
        const grant = describeGrant({ target, role: opts.role as (typeof CONSOLE_ROLES)[number] });
        io.out(`${opts.email.toLowerCase()} is now ${grant}${previous ? ` (was ${previous})` : ''}.\n`);
        return 0;
      })
    );
  users
    .command('revoke')
    .description("Remove a console user's grant on one target or on all targets (audited).")
    .requiredOption('--email <email>', 'sign-in email')
    .option('--role <role>', 'the role to remove (checked against the grant, when given)')
    .option('--target <name>', 'the target the grant is for')
    .option('--all-targets', 'the all-targets grant')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { email: string; role?: string; opsDb?: string } & ScopeOptions) => {
        const target = scopeOf(opts);
        const { revoked } = await withOps(io.env, opts.opsDb, (ops, grants) =>
          grants.revokeConsoleRole(ops.pool, { email: opts.email, target, role: opts.role }, actor())
        );
        io.out(`Revoked ${describeGrant({ target, role: revoked })} from ${opts.email.toLowerCase()}.\n`);
        return 0;
      })
    );
}
