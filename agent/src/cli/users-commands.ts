import { SyncScopeError } from '@syncscope/core';
import {
  addConsoleUser,
  CONSOLE_ROLES,
  listConsoleUsers,
  setConsoleUserRole
} from '@syncscope/core/console-users/console-users';
import { generatePassword } from '@syncscope/core/console-users/password-hash';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { opsDatabaseUrl } from '@syncscope/core/probe/targets/demo-target';
import type { Command } from 'commander';

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
  fn: (ops: OpsDatabase) => Promise<T>
) {
  const url = opsDb ?? opsDatabaseUrl(env);
  await migrateOpsDatabase(url);
  const ops = new OpsDatabase(url);
  try {
    return await fn(ops);
  } finally {
    await ops.close();
  }
}

/**
 * `syncscope users add|list|set-role`: console accounts, managed from a shell on a trusted machine (how
 * the first admin comes to be; there is no default password). Role changes are audited.
 */
export function registerUsersCommands(program: Command, io: UsersIo): void {
  const users = program
    .command('users')
    .description('Manage console users (ops database: --ops-db or SYNCSCOPE_OPS_DATABASE_URL).');
  const opsOption = [
    '--ops-db <url>',
    'ops database URL (default: $SYNCSCOPE_OPS_DATABASE_URL, else the embedded stack)'
  ] as const;
  users
    .command('add')
    .description('Add a console user. The password is read from stdin, or generated and printed once.')
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', `one of ${CONSOLE_ROLES.join(', ')}`)
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { email: string; role: string; opsDb?: string }) => {
        const typed = (await io.readStdin())?.replace(/\r?\n$/, '');
        const password = typed || generatePassword();
        const user = await withOps(io.env, opts.opsDb, async (ops) => {
          const added = await addConsoleUser(ops.pool, { email: opts.email, role: opts.role, password });
          await ops.audit({
            actor: `cli:${io.env.USER ?? 'unknown'}`,
            action: 'user.added',
            subjectUser: added.email,
            details: { role: added.role }
          });
          return added;
        });
        io.out(`Added ${user.email} (${user.role}).\n`);
        if (!typed) io.out(`Password (shown once, store it now): ${password}\n`);
        return 0;
      })
    );
  users
    .command('list')
    .description('List console users and their roles.')
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { opsDb?: string }) => {
        const list = await withOps(io.env, opts.opsDb, (ops) => listConsoleUsers(ops.pool));
        for (const u of list) io.out(`${u.email}\t${u.role}${u.disabled ? '\tdisabled' : ''}\n`);
        if (list.length === 0) io.out('No console users yet: add one with `syncscope users add`.\n');
        return 0;
      })
    );
  users
    .command('set-role')
    .description("Change a console user's role (audited).")
    .requiredOption('--email <email>', 'sign-in email')
    .requiredOption('--role <role>', `one of ${CONSOLE_ROLES.join(', ')}`)
    .option(...opsOption)
    .action(
      io.guarded(async (opts: { email: string; role: string; opsDb?: string }) => {
        await withOps(io.env, opts.opsDb, async (ops) => {
          const changed = await setConsoleUserRole(ops.pool, opts.email, opts.role);
          if (!changed)
            throw new SyncScopeError(
              'SYNCSCOPE_E_USER_INVALID',
              `No console user ${opts.email}; add them with \`syncscope users add\`.`
            );
          await ops.audit({
            actor: `cli:${io.env.USER ?? 'unknown'}`,
            action: 'user.role_changed',
            subjectUser: opts.email.toLowerCase(),
            details: { from: changed.previous, to: opts.role }
          });
        });
        io.out(`${opts.email} is now ${opts.role}.\n`);
        return 0;
      })
    );
}
