import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import {
  resolveTarget as resolveCoreTarget,
  type TargetsSource
} from '@syncscope/core/probe/targets/resolve-target';
import type { SecretScrubber } from '../output/secret-scrubber.ts';

export {
  type TargetsSource,
  targetLimits,
  targetNames,
  targetsSource
} from '@syncscope/core/probe/targets/resolve-target';

/** Loads one target (core's resolution) and registers its secrets with the scrubber. */
export function resolveTarget(
  source: TargetsSource,
  name: string,
  scrubber: SecretScrubber
): Promise<ProbeTarget> {
  return resolveCoreTarget(source, name, (target) => scrubber.addTarget(target));
}
