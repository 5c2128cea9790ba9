import path from 'node:path';
import { createLogger } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { DEMO_USERS, workspaceId } from '@syncscope/demo/seed/seed-plan';
import { describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { startProbeHarness, writeHarnessTargetsHome } from '../probe-integration/probe-harness.ts';
import {
  RECORDS_PER_WORKSPACE,
  subscribeToWorkspace,
  WORKSPACE_STREAMS
} from '../probe-integration/workspace-streams.ts';
import { startProbeJobRunner } from './probe-job-runner.ts';
import { startProbeScheduler } from './probe-scheduler.ts';

// A file of its own: a second dev sync server in the same file would want the first one's replication slot.
describe('scheduled probes of an app that subscribes to sync streams', () => {
  it("probes with the scheduled user's subscriptions, and stores them with the run", async () => {
    const streams = await startProbeHarness('scheduled_streams', WORKSPACE_STREAMS);
    const opsUrl = await createTestDatabase('scheduled_streams_ops');
    await migrateOpsDatabase(opsUrl);
    const streamsOps = new OpsDatabase(opsUrl);
    const subscribe = `workspace_records={"workspace_id":"${workspaceId(1)}"}`;
    const home = await writeHarnessTargetsHome(
      streams,
      'streams',
      WORKSPACE_STREAMS,
      `    schedule:\n      every_seconds: 60\n      users:\n` +
        `        - user: ${DEMO_USERS.alice.id}\n          subscribe: ['${subscribe}']\n` +
        `        - user: ${DEMO_USERS.bob.id}\n          subscribe: ['workspace_record']\n`
    );
    try {
      const common = {
        targets: targetsSource(path.join(home.dir, 'targets.yaml'), home.env),
        logger: createLogger('schedule-test', 'silent'),
        scrubber: new SecretScrubber(),
        ops: streamsOps
      };
      const runner = await startProbeJobRunner({ ...common, opsDatabaseUrl: opsUrl, pollMs: 500 });
      const scheduler = await startProbeScheduler(common);
      // Both canaries are one schedule; bob's stream is misspelt: he gets no job (the log says why).
      expect(scheduler.scheduled).toBe(1);
      const stored = async () =>
        (
          await streamsOps.pool.query<{ verdict: string; subscriptions: unknown; records: unknown }>(
            "SELECT verdict, subscriptions, report->'rows'->'perTable'->'records' AS records FROM syncscope.probe_runs"
          )
        ).rows;
      const until = Date.now() + 60_000; // one pair: its first run comes at once
      while ((await stored()).length === 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 250));
      await scheduler.stop();
      await runner.stop();
      const [run] = await stored();
      const jobs = await streamsOps.pool.query('SELECT user_id FROM syncscope.probe_jobs');
      expect(jobs.rows).toEqual([{ user_id: DEMO_USERS.alice.id }]);
      expect(run?.verdict).toBe('consistent');
      expect(run?.subscriptions).toEqual([subscribeToWorkspace(1)]);
      // The subscribed stream's rows were expected and synced, not just the default stream's.
      expect(run?.records).toEqual({ expected: RECORDS_PER_WORKSPACE, actual: RECORDS_PER_WORKSPACE });
    } finally {
      await streamsOps.close();
      await streams.close();
      await home.remove();
    }
  }, 90_000);
});
