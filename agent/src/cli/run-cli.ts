import { createLogger, isSyncScopeError, type Logger, SyncScopeError } from '@syncscope/core';
import { RETRY_DEFAULTS } from '@syncscope/core/probe-jobs/job-state-machine';
import { WORKER_DEFAULTS } from '@syncscope/core/probe-jobs/probe-job-worker';
import { parseSubscriptionText } from '@syncscope/core/sync-rules/subscription-text';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { registerJobMetrics } from '../metrics/job-metrics.ts';
import { formatRowTrace } from '../output/format-explanation.ts';
import { formatProbeReport } from '../output/format-report.ts';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import {
  assertTargetStreams,
  openOpsDatabase,
  parseClaimsJson,
  probeTarget,
  requireOpsDatabase,
  sourceRoleWarning,
  warnAboutSourceRoles
} from '../probe/probe-target.ts';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import { startReplicationHealthPoller } from '../replication-health/replication-health-poller.ts';
import { startRulesCoveragePoller } from '../rules-insight/rules-coverage-poller.ts';
import { AGENT_TOKEN_ENV, startAgentServer } from '../server/agent-server.ts';
import { ALLOWED_HOSTS_ENV, allowedHostNames } from '../server/allowed-hosts.ts';
import { startProbeJobRunner } from '../worker/probe-job-runner.ts';
import { startProbeScheduler } from '../worker/probe-scheduler.ts';
import { logAuditHead, registerAuditCommands } from './audit-commands.ts';
import { registerIngestKeysCommands } from './ingest-keys-commands.ts';
import { registerInspectCommand } from './inspect-command.ts';
import {
  ACTOR_FLAGS,
  ACTOR_HELP,
  cliAuthorisation,
  REASON_FLAGS,
  REASON_HELP
} from './probe-authorisation.ts';
import { registerProbeKeyCommand } from './probe-key-command.ts';
import { registerRulesCommands } from './rules-commands.ts';
import { registerSourceRoleCommand } from './source-role-command.ts';
import { registerUsersCommands } from './users-commands.ts';
import { PROBE_COMMANDS, VERDICT_EXIT_CODES, VERDICT_EXIT_HELP } from './verdict-exit.ts';
import { registerWriteProbeCommand } from './write-probe-command.ts';

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

/** Exit codes: 0 consistent (or done), 1 mismatch, 2 the command could not run. */
export const EXIT = { ok: 0, mismatch: 1, failed: 2 } as const;

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('use a number of seconds between 0 and 3600.');
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

/** The agent's job-queue flags as the runner's settings (undefined: the worker's defaults). */
function jobQueueSettings(opts: {
  jobLeaseSeconds?: number;
  jobDeadlineSeconds?: number;
  jobRetryBaseSeconds?: number;
  jobRetryCapSeconds?: number;
}) {
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
  const leaseMs = ms(opts.jobLeaseSeconds);
  return {
    leaseMs,
    // Three beats per lease, so one lost beat does not cost the lease.
    heartbeatMs:
      leaseMs === undefined ? undefined : Math.min(WORKER_DEFAULTS.heartbeatMs, Math.round(leaseMs / 3)),
    deadlineMs: ms(opts.jobDeadlineSeconds),
    retry: {
      ...RETRY_DEFAULTS,
      baseMs: ms(opts.jobRetryBaseSeconds) ?? RETRY_DEFAULTS.baseMs,
      capMs: ms(opts.jobRetryCapSeconds) ?? RETRY_DEFAULTS.capMs
    }
  };
}

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
  const logger = (defaultLevel: string): Logger =>
    createLogger('syncscope', io.env.SYNCSCOPE_LOG_LEVEL ?? defaultLevel, scrubber.destination(io.stderr));
  let exitCode: number = EXIT.ok;
  let json = false;

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
    .addHelpText(
      'after',
      `\n${VERDICT_EXIT_HELP}\nNeeds SYNCSCOPE_OPS_DATABASE_URL (the demo target fills it in): every minted token is audited first, and the run is stored.`
    )
    .action(
      guarded(
        async (opts: {
          target: string;
          user: string;
          claims?: string;
          subscribe: string[];
          json?: boolean;
          targets?: string;
          deadline?: number;
          reason?: string;
          actor?: string;
          partitionHelpers?: number;
        }) => {
          json = Boolean(opts.json);
          const { actor, reason } = cliAuthorisation(opts, io.env);
          const claims = parseClaimsJson(opts.claims);
          const subscriptions = opts.subscribe.map(parseSubscriptionText);
          const target = await resolveTarget(targetsSource(opts.targets, io.env), opts.target, scrubber);
          await assertTargetStreams(target, subscriptions);
          const warning = await sourceRoleWarning(target);
          if (warning) err(`warning: ${warning}\n`);
          const ops = await requireOpsDatabase(target.opsDatabaseUrl, 'syncscope probe');
          const report = await probeTarget({
            target,
            userId: opts.user,
            claims,
            subscriptions,
            deadlineMs: opts.deadline === undefined ? undefined : opts.deadline * 1000,
            logger: logger('warn'),
            ops,
            actor,
            reason,
            partitionHelpers: opts.partitionHelpers
          }).finally(() => ops.close());
          out(json ? `${JSON.stringify(report, null, 2)}\n` : formatProbeReport(report));
          if (report.verdict === 'error') {
            err(
              `${report.reason?.code ?? 'SYNCSCOPE_E_INTERNAL_ERROR'}: ${report.reason?.message ?? report.summary}\n`
            );
          }
          return VERDICT_EXIT_CODES[report.verdict];
        },
        VERDICT_EXIT_CODES.error
      )
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
      guarded(
        async (opts: {
          target: string;
          table: string;
          id: string;
          user?: string;
          claims?: string;
          subscribe: string[];
          json?: boolean;
          targets?: string;
        }) => {
          json = Boolean(opts.json);
          const claims = parseClaimsJson(opts.claims);
          const subscriptions = opts.subscribe.map(parseSubscriptionText);
          if (subscriptions.length > 0 && !opts.user)
            throw new SyncScopeError(
              'SYNCSCOPE_E_REQUEST_INVALID',
              '--subscribe needs --user: subscriptions decide which stream buckets one user holds. Add --user ID, or drop --subscribe.'
            );
          const target = await resolveTarget(targetsSource(opts.targets, io.env), opts.target, scrubber);
          // Loaded on first use, like the probe engine.
          const { explainRow } = await import('@syncscope/core/probe/explain/explain-row');
          const { loadSyncRules } = await import('@syncscope/core/sync-rules/load-sync-rules');
          const trace = await explainRow({
            sourceUrl: target.sourceUrl,
            rules: loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile }),
            table: opts.table,
            id: opts.id,
            userId: opts.user,
            claims: { ...(target.extraClaims ?? {}), ...(claims ?? {}) },
            subscriptions
          });
          out(json ? `${JSON.stringify(trace, null, 2)}\n` : formatRowTrace(trace));
          return EXIT.ok;
        }
      )
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
    .action(
      guarded(
        async (opts: {
          port: number;
          host: string;
          targets?: string;
          allowedHost: string[];
          opsDb?: string;
          partitionHelpers?: number;
          jobLeaseSeconds?: number;
          jobDeadlineSeconds?: number;
          jobRetryBaseSeconds?: number;
          jobRetryCapSeconds?: number;
        }) => {
          const token = io.env[AGENT_TOKEN_ENV] || undefined;
          const agentLogger = logger('info');
          const targets = targetsSource(opts.targets, io.env);
          // One kept thread computes every probe's expected state, off the thread the clients sync on.
          const { ExpectedStateWorker } = await import(
            '@syncscope/core/probe/expected/expected-state-worker'
          );
          const expectedStateWorker = new ExpectedStateWorker({ partitionHelpers: opts.partitionHelpers });
          expectedStateWorker.start().catch((error: Error) => {
            agentLogger.warn({ err: error.message }, 'expected states will be computed in-thread');
          });
          const opsUrl = opts.opsDb ?? (io.env.SYNCSCOPE_OPS_DATABASE_URL || undefined);
          const ops = await openOpsDatabase(opsUrl);
          const server = await startAgentServer({
            host: opts.host,
            port: opts.port,
            targets,
            logger: agentLogger,
            scrubber,
            token,
            allowedHosts: allowedHostNames(opts.allowedHost, io.env),
            ops,
            expectedStateWorker
          }).catch(async (error: unknown) => {
            await ops?.close();
            await expectedStateWorker.close();
            throw error;
          });
          if (ops) await logAuditHead(ops.pool, agentLogger);
          const jobs =
            ops && opsUrl
              ? await startProbeJobRunner({
                  opsDatabaseUrl: opsUrl,
                  ops,
                  targets,
                  logger: agentLogger,
                  scrubber,
                  metrics: server.metrics,
                  onJobEvent: registerJobMetrics(server.metrics.registry, ops.pool).record,
                  expectedStateWorker,
                  ...jobQueueSettings(opts)
                })
              : undefined;
          const schedule = await startProbeScheduler({
            targets,
            logger: agentLogger,
            scrubber,
            metrics: server.metrics,
            ops,
            expectedStateWorker
          });
          const replication = await startReplicationHealthPoller({
            targets,
            logger: agentLogger,
            scrubber,
            registry: server.metrics.registry,
            ops
          });
          const coverage = await startRulesCoveragePoller({
            targets,
            logger: agentLogger,
            scrubber,
            registry: server.metrics.registry
          });
          out(
            `SyncScope agent listening on ${server.url} (GET /metrics, GET /healthz, POST /probes with a bearer token${ops ? '' : ': refused without an ops database to audit in'})${jobs ? "; running the console's probe jobs" : ''}${schedule.scheduled ? `; ${schedule.scheduled} scheduled probes` : ''}\n`
          );
          io.onAgentListening?.(server.url);
          void warnAboutSourceRoles(targets, scrubber, agentLogger);
          const signal = await (io.untilStopped ?? waitForSignal)();
          out(`${signal}: stopping the agent\n`);
          await schedule.stop();
          await replication.stop();
          await coverage.stop();
          await jobs?.stop();
          await ops?.close();
          await server.close();
          await expectedStateWorker.close();
          return EXIT.ok;
        }
      )
    );
  registerUsersCommands(program, {
    out,
    env: io.env,
    readStdin: io.readStdin ?? (async () => undefined),
    guarded
  });
  registerIngestKeysCommands(program, { out, env: io.env, guarded });
  registerAuditCommands(program, { out, env: io.env, guarded });
  registerProbeKeyCommand(program, { out, env: io.env, guarded });
  registerSourceRoleCommand(program, { out, env: io.env, guarded, scrubber });
  registerRulesCommands(program, {
    out,
    env: io.env,
    scrubber,
    setJson: (value) => {
      json = value;
    },
    guarded
  });
  registerInspectCommand(program, {
    out,
    env: io.env,
    scrubber,
    setJson: (value) => {
      json = value;
    },
    guarded
  });
  registerWriteProbeCommand(program, {
    out,
    err,
    env: io.env,
    scrubber,
    logger,
    setJson: (value) => {
      json = value;
    },
    guarded
  });

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
