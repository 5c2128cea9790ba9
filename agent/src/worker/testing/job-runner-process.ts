/**
 * An agent process that runs only the console job runner (test fixture for the kill test): the agent's
 * job code path (startProbeJobRunner: claim, resolve the target, run, heartbeats, lease-checked store)
 * without its HTTP server, so a restarted agent claims again sooner.
 * Arguments: ops database URL, targets file, `real` (the probe engine) or `light` (a probe that takes
 * 50–300 ms and reports consistent, for the queue-mechanics test). Prints "ready" once it polls.
 */
import { createLogger } from '@syncscope/core';
import { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { SecretScrubber } from '../../output/secret-scrubber.ts';
import { targetsSource } from '../../probe/resolve-target.ts';
import { startProbeJobRunner } from '../probe-job-runner.ts';
import { lightProbe } from './light-probe.ts';

const [opsDatabaseUrl, targetsFile, probe] = process.argv.slice(2) as [string, string, 'real' | 'light'];

const ops = new OpsDatabase(opsDatabaseUrl);
await startProbeJobRunner({
  opsDatabaseUrl,
  ops,
  targets: targetsSource(targetsFile, process.env),
  logger: createLogger('job-runner', 'warn'),
  scrubber: new SecretScrubber(),
  // Short leases and backoff, so that a killed agent's jobs move on within seconds; long enough that a
  // live agent on a loaded machine keeps its lease.
  leaseMs: 3_000,
  heartbeatMs: 500,
  pollMs: 500,
  deadlineMs: 120_000,
  retry: { baseMs: 500, capMs: 5_000, jitter: 0.5 },
  ...(probe === 'light' ? { readProbe: lightProbe } : {})
});
process.stdout.write('ready\n');
