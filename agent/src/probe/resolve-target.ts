import path from 'node:path';
import { isSyncScopeError, SyncScopeError } from '@syncscope/core';
import type { ProbeTarget } from '@syncscope/core/probe/probe-types';
import { DEMO_TARGET, fillDemoTargetEnv } from '@syncscope/core/probe/targets/demo-target';
import { defaultTargetsFile, listTargetNames, loadTarget } from '@syncscope/core/probe/targets/load-targets';
import type { SecretScrubber } from '../output/secret-scrubber.ts';

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
 * Loads one target and registers its secrets with the scrubber. For `demo` from the default file, the
 * demo stack's variables are filled from the files under SYNCSCOPE_HOME first (unless already set), so
 * `syncscope probe --target demo` needs no setup after `npm start`.
 */
export async function resolveTarget(
  source: TargetsSource,
  name: string,
  scrubber: SecretScrubber
): Promise<ProbeTarget> {
  const env = { ...source.env };
  let missingFiles: string[] = [];
  if (name === DEMO_TARGET.name && source.isDefault)
    missingFiles = (await fillDemoTargetEnv(env)).missingFiles;
  try {
    const target = await loadTarget(source.file, name, env);
    // Where runs and audit entries go: the environment's ops database (the demo target fills it in).
    if (env.SYNCSCOPE_OPS_DATABASE_URL) target.opsDatabaseUrl = env.SYNCSCOPE_OPS_DATABASE_URL;
    scrubber.addTarget(target);
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
