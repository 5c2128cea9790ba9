import 'server-only';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import { resolveTarget, targetNames, targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { consoleConfig } from './console-config';

/** Targets come from the same targets file the agents read (re-read on each request: edits apply). */
function source() {
  return targetsSource(consoleConfig().SYNCSCOPE_TARGETS_FILE, process.env);
}

export async function listTargets(): Promise<string[]> {
  try {
    return await targetNames(source());
  } catch {
    return [];
  }
}

export function loadTarget(name: string): Promise<ProbeTarget> {
  return resolveTarget(source(), name);
}
