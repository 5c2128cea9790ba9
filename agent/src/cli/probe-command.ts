import type { ProbeMode } from '@syncscope/core/probe/probe-mode';
import { parseSubscriptionText } from '@syncscope/core/sync-rules/subscription-text';
import { formatProbeReport } from '../output/format-report.ts';
import {
  assertTargetStreams,
  parseClaimsJson,
  probeTarget,
  requireOpsDatabase,
  sourceRoleWarning
} from '../probe/probe-target.ts';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import type { CommandContext } from './command-context.ts';
import { cliAuthorisation } from './probe-authorisation.ts';
import { VERDICT_EXIT_CODES } from './verdict-exit.ts';

export interface ProbeCommandOptions {
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
  mode: ProbeMode;
}

/** `syncscope probe`: audits the token, probes, prints the report; exits with the verdict's code. */
export async function runProbeCommand(opts: ProbeCommandOptions, ctx: CommandContext): Promise<number> {
  ctx.setJson(Boolean(opts.json));
  const { actor, reason } = cliAuthorisation(opts, ctx.env);
  const claims = parseClaimsJson(opts.claims);
  const subscriptions = opts.subscribe.map(parseSubscriptionText);
  const target = await resolveTarget(targetsSource(opts.targets, ctx.env), opts.target, ctx.scrubber);
  await assertTargetStreams(target, subscriptions);
  const warning = await sourceRoleWarning(target);
  if (warning) ctx.err(`warning: ${warning}\n`);
  const ops = await requireOpsDatabase(target.opsDatabaseUrl, 'syncscope probe');
  const report = await probeTarget({
    target,
    userId: opts.user,
    mode: opts.mode,
    claims,
    subscriptions,
    deadlineMs: opts.deadline === undefined ? undefined : opts.deadline * 1000,
    logger: await ctx.logger('warn'),
    ops,
    actor,
    reason,
    partitionHelpers: opts.partitionHelpers
  }).finally(() => ops.close());
  ctx.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatProbeReport(report));
  if (report.verdict === 'error') {
    ctx.err(
      `${report.reason?.code ?? 'SYNCSCOPE_E_INTERNAL_ERROR'}: ${report.reason?.message ?? report.summary}\n`
    );
  }
  return VERDICT_EXIT_CODES[report.verdict];
}
