import os from 'node:os';
import { SyncScopeError } from '@syncscope/core';
import { DEMO_TARGET } from '@syncscope/core/probe/targets/demo-target';

/** The OS user running the CLI; `unknown` where the system cannot say (a container without a passwd entry). */
function osUserName(env: NodeJS.ProcessEnv): string {
  if (env.USER || env.LOGNAME) return (env.USER || env.LOGNAME) as string;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Who impersonates and why, for a CLI command that mints probe tokens: `--actor` or `cli:<OS user>`,
 * and `--reason`, which only the demo target may leave out (its reason is then "demo").
 */
export function cliAuthorisation(
  opts: { target: string; actor?: string; reason?: string },
  env: NodeJS.ProcessEnv
): { actor: string; reason: string } {
  const reason = opts.reason ?? (opts.target === DEMO_TARGET.name ? 'demo' : undefined);
  if (!reason?.trim()) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_REASON_REQUIRED',
      `--reason TEXT is required for target "${opts.target}": a probe impersonates a user, and the audit log keeps why (e.g. --reason "ticket 1234: alice misses records").`
    );
  }
  const actor = opts.actor ?? `cli:${osUserName(env)}`;
  if (!actor.trim()) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PROBE_ACTOR_REQUIRED',
      '--actor is empty: name who asks for the probe, or leave --actor out to use cli:<OS user name>.'
    );
  }
  return { actor, reason };
}
