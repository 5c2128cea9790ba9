import { SyncScopeError } from '@syncscope/core/errors/index';
import { explainRow } from '@syncscope/core/probe/explain/explain-row';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { parseSubscriptionText } from '@syncscope/core/sync-rules/subscription-text';
import { formatRowTrace } from '../output/format-explanation.ts';
import { parseClaimsJson } from '../probe/probe-target.ts';
import { resolveTarget, targetsSource } from '../probe/resolve-target.ts';
import type { CommandContext } from './command-context.ts';
import { EXIT } from './verdict-exit.ts';

export interface ExplainCommandOptions {
  target: string;
  table: string;
  id: string;
  user?: string;
  claims?: string;
  subscribe: string[];
  json?: boolean;
  targets?: string;
}

/** `syncscope explain`: the trace of one row through the rules to its buckets and their holders. */
export async function runExplainCommand(opts: ExplainCommandOptions, ctx: CommandContext): Promise<number> {
  ctx.setJson(Boolean(opts.json));
  const claims = parseClaimsJson(opts.claims);
  const subscriptions = opts.subscribe.map(parseSubscriptionText);
  if (subscriptions.length > 0 && !opts.user)
    throw new SyncScopeError(
      'SYNCSCOPE_E_REQUEST_INVALID',
      '--subscribe needs --user: subscriptions decide which stream buckets one user holds. Add --user ID, or drop --subscribe.'
    );
  const target = await resolveTarget(targetsSource(opts.targets, ctx.env), opts.target, ctx.scrubber);
  const trace = await explainRow({
    sourceUrl: target.sourceUrl,
    rules: loadSyncRules(target.syncRulesYaml, { file: target.syncRulesFile }),
    table: opts.table,
    id: opts.id,
    userId: opts.user,
    claims: { ...(target.extraClaims ?? {}), ...(claims ?? {}) },
    subscriptions
  });
  ctx.out(opts.json ? `${JSON.stringify(trace, null, 2)}\n` : formatRowTrace(trace));
  return EXIT.ok;
}
