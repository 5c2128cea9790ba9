import path from 'node:path';
import { isSyncScopeError, SyncScopeError } from '../../errors/index.ts';
import type { ProbeTarget } from '../probe-types.ts';
import { DEMO_TARGET, fillDemoTargetEnv } from './demo-target.ts';
import {
  defaultTargetsFile,
  listTargetLimits,
  listTargetNames,
  loadSigningKeys,
  loadTarget
} from './load-targets.ts';

/** Which targets file to read, and the environment its `!env` tags resolve against. */
export interface TargetsSource {
  file: string;
  /** The file `npm start` writes (`<SYNCSCOPE_HOME>/targets.yaml`); only then is the demo target filled in. */
  isDefault: boolean;
  env: NodeJS.ProcessEnv;
}

export function targetsSource(file: string | undefined, env: NodeJS.ProcessEnv): TargetsSource {
  const fallback = defaultTargetsFile(env);
  const chosen = file ? path.resolve(file) : fallback;
  return { file: chosen, isDefault: chosen === fallback, env };
}

/**
 * Loads one target. For `demo` from the default file, the demo stack's variables are filled from the
 * files under SYNCSCOPE_HOME first (unless already set), so the demo target needs no setup after
 * `npm start`. `onLoaded` sees the target first (the CLI registers its secrets with its scrubber).
 */
export async function resolveTarget(
  source: TargetsSource,
  name: string,
  onLoaded?: (target: ProbeTarget) => void
): Promise<ProbeTarget> {
  const env = { ...source.env };
  let missingFiles: string[] = [];
  if (name === DEMO_TARGET.name && source.isDefault)
    missingFiles = (await fillDemoTargetEnv(env)).missingFiles;
  try {
    const target = await loadTarget(source.file, name, env);
    // Where runs and audit entries go: the environment's ops database (the demo target fills it in).
    if (env.SYNCSCOPE_OPS_DATABASE_URL) target.opsDatabaseUrl = env.SYNCSCOPE_OPS_DATABASE_URL;
    onLoaded?.(target);
    return target;
  } catch (error) {
    const unset = isSyncScopeError(error) && error.message.includes('(from !env) is not set');
    if (unset && missingFiles.length > 0) {
      throw new SyncScopeError(
        error.code,
        `${error.message}. The demo stack writes ${missingFiles.join(' and ')} when it starts: run npm start first, with the same SYNCSCOPE_HOME.`,
        error.details
      );
    }
    throw error;
  }
}

export function targetNames(source: TargetsSource): Promise<string[]> {
  return listTargetNames(source.file, source.env);
}

/** Each target's `max_concurrent_probes`, by name (see listTargetLimits). */
export function targetLimits(source: TargetsSource): Promise<Record<string, number>> {
  return listTargetLimits(source.file, source.env);
}

/** Every target's probe signing key alone (see loadSigningKeys), the demo target's filled in as above. */
export async function resolveSigningKeys(source: TargetsSource): ReturnType<typeof loadSigningKeys> {
  const env = { ...source.env };
  if (source.isDefault) await fillDemoTargetEnv(env);
  return loadSigningKeys(source.file, env);
}
