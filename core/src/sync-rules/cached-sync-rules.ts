import { type LoadedSyncRules, loadSyncRules } from './load-sync-rules.ts';

/**
 * Parsed rules kept by their text, file and version: a target's rules change rarely, and parsing them
 * costs about 10 ms of CPU (the SQL grammar), which many probes of one target in one process (light
 * probes, an agent's sweep) would otherwise pay each. Loaded rules are only read, never changed, so
 * probes share them. Invalid rules are not kept: each load reports them again.
 */
const MAX_KEPT = 16;
const kept = new Map<string, LoadedSyncRules>();

export function cachedSyncRules(
  yaml: string,
  options: { file?: string; version?: number } = {}
): LoadedSyncRules {
  const key = `${options.version ?? ''}\u0000${options.file ?? ''}\u0000${yaml}`;
  let rules = kept.get(key);
  if (rules)
    kept.delete(key); // re-inserted below: the most recently used is last
  else rules = loadSyncRules(yaml, options);
  kept.set(key, rules);
  if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
  return rules;
}
