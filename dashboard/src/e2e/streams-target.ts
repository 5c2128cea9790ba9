import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  harnessTargetEntry,
  harnessTargetEnv,
  type ProbeHarness,
  startProbeHarness
} from '@syncscope/agent/probe-integration/probe-harness';
import { WORKSPACE_STREAMS } from '@syncscope/agent/probe-integration/workspace-streams';

export const STREAMS_TARGET = 'streams';

/**
 * A second target for the console's stack whose rules use sync streams (the demo target's use bucket
 * definitions): the demo data in a database of its own, a dev sync server with WORKSPACE_STREAMS that
 * trusts an HS256 probe key, and its entry for the stack's targets file. The key and the source URL
 * reach the stack's agent and console through `env` (`!env` in the targets file), so start this first.
 */
export interface StreamsTarget {
  harness: ProbeHarness;
  env: Record<string, string>;
  /** Adds target `streams` to `<home>/targets.yaml` (which the stack writes when it starts). */
  register(home: string): Promise<void>;
}

export async function startStreamsTarget(databasePrefix: string): Promise<StreamsTarget> {
  const harness = await startProbeHarness(databasePrefix, WORKSPACE_STREAMS);
  return {
    harness,
    env: harnessTargetEnv(harness, STREAMS_TARGET),
    async register(home) {
      await writeFile(path.join(home, 'streams_sync_rules.yaml'), WORKSPACE_STREAMS);
      await appendFile(
        path.join(home, 'targets.yaml'),
        harnessTargetEntry(harness, STREAMS_TARGET, 'streams_sync_rules.yaml')
      );
    }
  };
}
