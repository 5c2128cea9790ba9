import type { Command } from 'commander';
import type { CommandContext } from './command-context.ts';
import type { InspectCommandOptions } from './inspect-database.ts';

/** `syncscope inspect --file app.db [--target T --user U]`: the inspector without the console. */
export function registerInspectCommand(
  program: Command,
  io: CommandContext & {
    guarded<A extends unknown[]>(body: (...args: A) => Promise<number>): (...args: A) => Promise<void>;
  }
): void {
  program
    .command('inspect')
    .description(
      'Read an exported PowerSync client database: upload queue, buckets, op log; with --target and --user, diff its rows against the source.'
    )
    .requiredOption('--file <path>', 'the exported SQLite file (read from a copy)')
    .option('--target <name>', 'target whose source and rules to compare with')
    .option('--user <id>', 'the user the database belongs to')
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .option('--json', 'print JSON')
    .action(
      io.guarded(async (opts: InspectCommandOptions) => {
        const { runInspectCommand } = await import('./inspect-database.ts');
        return runInspectCommand(opts, io);
      })
    );
}
