import { type Command, InvalidArgumentError } from 'commander';
import { ACTOR_FLAGS, ACTOR_HELP, REASON_FLAGS, REASON_HELP } from './authorisation-flags.ts';
import type { CommandContext } from './command-context.ts';
import { VERDICT_EXIT_CODES, VERDICT_EXIT_HELP } from './verdict-exit.ts';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 300)
    throw new InvalidArgumentError('use a number of seconds between 0 and 300.');
  return n;
}

/**
 * `syncscope write-probe --target NAME`: one synthetic write through the app's write path as the
 * target's test user; exits with its verdict's code (VERDICT_EXIT_CODES: 0 consistent, 1 mismatch, 2
 * inconclusive, 3 error).
 */
export function registerWriteProbeCommand(
  program: Command,
  io: CommandContext & {
    guarded<A extends unknown[]>(
      body: (...args: A) => Promise<number>,
      failed?: number
    ): (...args: A) => Promise<void>;
  }
): void {
  program
    .command('write-probe')
    .description(
      "Write through the app's real write path as the target's test user (write_probe in the targets file) and time each leg: local write, backend accepted, visible in Postgres, replicated back, write checkpoint."
    )
    .requiredOption('--target <name>', 'target name from the targets file')
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .option('--leg-timeout <seconds>', 'how long each leg may take', seconds, 15)
    .option(REASON_FLAGS, REASON_HELP)
    .option(ACTOR_FLAGS, ACTOR_HELP)
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `\n${VERDICT_EXIT_HELP}`)
    .action(
      io.guarded(
        async (opts: {
          target: string;
          targets?: string;
          legTimeout: number;
          reason?: string;
          actor?: string;
          json?: boolean;
        }) => {
          io.setJson(Boolean(opts.json));
          // Loaded when the command runs, as every command's implementation (run-cli.ts).
          const { cliAuthorisation } = await import('./probe-authorisation.ts');
          const { requireOpsDatabase } = await import('../probe/probe-target.ts');
          const { resolveTarget, targetsSource } = await import('../probe/resolve-target.ts');
          const { formatWriteProbeReport, writeProbeTarget } = await import('../probe/write-probe-target.ts');
          const { actor, reason } = cliAuthorisation(opts, io.env);
          const target = await resolveTarget(targetsSource(opts.targets, io.env), opts.target, io.scrubber);
          const ops = await requireOpsDatabase(target.opsDatabaseUrl, 'syncscope write-probe');
          const report = await writeProbeTarget({
            target,
            logger: await io.logger('warn'),
            ops,
            actor,
            reason,
            legTimeoutMs: opts.legTimeout * 1000
          }).finally(() => ops.close());
          io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatWriteProbeReport(report));
          if (report.error) io.err(`${report.error.code}: ${report.error.message}\n`);
          return VERDICT_EXIT_CODES[report.verdict];
        },
        VERDICT_EXIT_CODES.error
      )
    );
}
