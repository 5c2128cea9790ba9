import { isSyncScopeError } from '@syncscope/core/errors/index';
import { PROBE_MODES, type ProbeMode } from '@syncscope/core/probe/probe-mode';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { AGENT_TOKEN_ENV } from '../server/agent-token-env.ts';
import { ALLOWED_HOSTS_ENV } from '../server/allowed-hosts.ts';
import type { AgentCommandOptions } from './agent-command.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { ACTOR_FLAGS, ACTOR_HELP, REASON_FLAGS, REASON_HELP } from './authorisation-flags.ts';
import type { CommandContext } from './command-context.ts';
import type { ExplainCommandOptions } from './explain-command.ts';
import { registerIngestKeysCommands } from './ingest-keys-commands.ts';
import { registerInspectCommand } from './inspect-command.ts';
import { registerOpsDbCommand } from './ops-db-command.ts';
import type { ProbeCommandOptions } from './probe-command.ts';
import { registerProbeKeyCommand } from './probe-key-command.ts';
import { registerRulesCommands } from './rules-commands.ts';
import { registerSourceRoleCommand } from './source-role-command.ts';
import { registerUsersCommands } from './users-commands.ts';
import { EXIT, PROBE_COMMANDS, VERDICT_EXIT_CODES, VERDICT_EXIT_HELP } from './verdict-exit.ts';
import { registerWriteProbeCommand } from './write-probe-command.ts';

export { EXIT } from './verdict-exit.ts';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  /** Resolves when `syncscope agent` should stop; the binary waits for SIGINT/SIGTERM. */
  untilStopped?: () => Promise<string>;
  /** Called once the agent listens (tests). */
  onAgentListening?: (url: string) => void;
  /** Text piped on stdin (a password for `users add`); undefined when nothing is piped. */
  readStdin?: () => Promise<string | undefined>;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('use a number of seconds between 0 and 3600.');
  return n;
}

function probeMode(value: string): ProbeMode {
  if (!(PROBE_MODES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`use ${PROBE_MODES.join(' or ')} (got "${value}").`);
  return value as ProbeMode;
}

function probeConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError('use a whole number of probes between 1 and 64.');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('use a port number (0-65535).');
  return n;
}

function helperThreads(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 16)
    throw new InvalidArgumentError('use a whole number of threads from 0 (none) to 16.');
  return n;
}

const PARTITION_HELPERS_HELP =
  "helper threads that scan a large table's parts beside the probe (default: one per further core, at most three; 0: none)";

/** Repeatable options: every value, in order. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const SUBSCRIBE_FLAGS = '--subscribe <stream=params>';
const SUBSCRIBE_HELP =
  'subscribe to a sync stream as the app does with db.syncStream(stream, params).subscribe(); repeatable: NAME, NAME=JSON or NAME@PRIORITY=JSON';

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
}

/**
 * The `syncscope` CLI: `probe`, `explain` and `agent`. Everything it writes, logs included, goes through
 * a secret scrubber; failures print `CODE: message` (never a stack trace) and exit 2.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const scrubber = new SecretScrubber();
  const out = (text: string) => io.stdout.write(scrubber.scrub(text));
  const err = (text: string) => io.stderr.write(scrubber.scrub(text));
  let exitCode: number = EXIT.ok;
  let json = false;
  // Each command's implementation is imported when it runs (`syncscope --help` loads none of them).
  const ctx: CommandContext = {
    out,
    err,
    env: io.env,
    scrubber,
    logger: async (defaultLevel) => {
      const { createLogger } = await import('@syncscope/core/logging/logger');
      const level = io.env.SYNCSCOPE_LOG_LEVEL ?? defaultLevel;
      return createLogger('syncscope', level, scrubber.destination(io.stderr));
    },
    setJson: (value) => {
      json = value;
    }
  };

  /**
   * Runs a command body; a thrown error becomes `CODE: message` and exit 2, or for the probe commands
   * (whose exit codes are the verdicts') the `error` verdict's 3.
   */
  const guarded =
    <A extends unknown[]>(body: (...args: A) => Promise<number>, failed: number = EXIT.failed) =>
    async (...args: A) => {
      try {
        exitCode = await body(...args);
      } catch (error) {
        const code = isSyncScopeError(error) ? error.code : 'SYNCSCOPE_E_INTERNAL_ERROR';
        const message = error instanceof Error ? error.message : String(error);
        if (json) out(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
        err(`${code}: ${message}\n`);
        exitCode = failed;
      }
    };

  const program = new Command('syncscope')
    .description('SyncScope: probe PowerSync stacks for data the user should have but does not.')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => out(text),
      writeErr: (text) => err(text),
      outputError: (text, write) => write(`SYNCSCOPE_E_REQUEST_INVALID: ${text.replace(/^error: /, '')}`)
    });

  program
    .command('probe')
    .description(
      'Sync as a user with a probe token and compare what arrives with the source database and rules.'
    )
    .requiredOption('--target <name>', 'target name in the targets file')
    .requiredOption('--user <id>', 'user id (the token subject)')
    .option('--claims <json>', 'extra token claims as a JSON object')
    .option(SUBSCRIBE_FLAGS, SUBSCRIBE_HELP, collect, [])
    .option('--json', 'print the JSON report (ProbeReport)')
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml, written by npm start)')
    .option(
      '--deadline <seconds>',
      "the probe's deadline: past it, it stops and is inconclusive (SYNCSCOPE_E_PROBE_DEADLINE)",
      positiveSeconds
    )
    .option(REASON_FLAGS, REASON_HELP)
    .option(ACTOR_FLAGS, ACTOR_HELP)
    .option('--partition-helpers <n>', PARTITION_HELPERS_HELP, helperThreads)
    .option(
      '--mode <mode>',
      'full: sync with the real client (default); light: read the sync stream itself, no client database, and confirm any difference with a full probe',
      probeMode,
      'full'
    )
    .addHelpText(
      'after',
      `\n${VERDICT_EXIT_HELP}\nNeeds SYNCSCOPE_OPS_DATABASE_URL (the demo target fills it in): every minted token is audited first, and the run is stored.`
    )
    .action(
      guarded(async (opts: ProbeCommandOptions) => {
        const { runProbeCommand } = await import('./probe-command.ts');
        return runProbeCommand(opts, ctx);
      }, VERDICT_EXIT_CODES.error)
    );

  program
    .command('explain')
    .description(
      'Trace a row through the sync rules: the data queries that read it, its buckets, who holds them, and why a user does or does not.'
    )
    .requiredOption('--target <name>', 'target name in the targets file')
    .requiredOption('--table <table>', 'source table')
    .requiredOption('--id <id>', 'row id')
    .option('--user <id>', 'also say whether this user holds the row, and why not')
    .option('--claims <json>', 'extra token claims as a JSON object')
    .option(SUBSCRIBE_FLAGS, `with --user: ${SUBSCRIBE_HELP}`, collect, [])
    .option('--json', 'print JSON')
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .action(
      guarded(async (opts: ExplainCommandOptions) => {
        const { runExplainCommand } = await import('./explain-command.ts');
        return runExplainCommand(opts, ctx);
      })
    );

  program
    .command('agent')
    .description(
      `Run the probe agent: GET /metrics, GET /healthz, POST /probes (bearer token from ${AGENT_TOKEN_ENV}).`
    )
    .option('--port <port>', 'port to listen on', port, Number(io.env.SYNCSCOPE_AGENT_METRICS_PORT || 9464))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--targets <file>', 'targets file (default: $SYNCSCOPE_HOME/targets.yaml)')
    .option(
      '--allowed-host <name>',
      `a Host name the agent answers besides its bind address and localhost, e.g. its compose service name; repeatable (also ${ALLOWED_HOSTS_ENV}, comma-separated)`,
      collect,
      []
    )
    .option(
      '--ops-db <url>',
      "also run the console's probe jobs from this ops database (default: $SYNCSCOPE_OPS_DATABASE_URL)"
    )
    .option('--partition-helpers <n>', PARTITION_HELPERS_HELP, helperThreads)
    .option(
      '--job-lease-seconds <s>',
      "a claimed job's lease: each heartbeat renews it; a job not renewed within it is reclaimed by any agent (default 15)",
      positiveSeconds
    )
    .option(
      '--job-deadline-seconds <s>',
      "a job attempt's deadline unless its target sets job_deadline_seconds: the probe stops inconclusive and the job is retried (default 180)",
      positiveSeconds
    )
    .option(
      '--job-retry-base-seconds <s>',
      'the wait before retrying an inconclusive job, doubled per further attempt (default 5)',
      positiveSeconds
    )
    .option('--job-retry-cap-seconds <s>', 'the longest wait between attempts (default 300)', positiveSeconds)
    .option(
      '--job-concurrency <n>',
      "probe jobs this agent runs at once, console's and schedules' (default 2); a target's max_concurrent_probes limits all agents together",
      probeConcurrency
    )
    .option(
      '--run-retention-days <days>',
      'raw probe runs older than this are pruned, hourly rollups and the audit log are kept (default 30; also SYNCSCOPE_RUN_RETENTION_DAYS)'
    )
    .action(
      guarded(async (opts: AgentCommandOptions) => {
        const { runAgentCommand } = await import('./agent-command.ts');
        const untilStopped = io.untilStopped ?? waitForSignal;
        return runAgentCommand(opts, { ...ctx, untilStopped, onAgentListening: io.onAgentListening });
      })
    );
  const commands = { ...ctx, guarded };
  registerUsersCommands(program, { ...commands, readStdin: io.readStdin ?? (async () => undefined) });
  registerIngestKeysCommands(program, commands);
  registerAuditCommands(program, commands);
  registerProbeKeyCommand(program, commands);
  registerOpsDbCommand(program, commands);
  registerSourceRoleCommand(program, commands);
  registerInspectCommand(program, commands);
  registerWriteProbeCommand(program, commands);
  registerRulesCommands(program, commands);

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok;
      // A probe command given bad arguments could not run: the error verdict's code.
      return PROBE_COMMANDS.has(argv[0] ?? '') ? VERDICT_EXIT_CODES.error : EXIT.failed;
    }
    err(`SYNCSCOPE_E_INTERNAL_ERROR: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  return exitCode;
}
