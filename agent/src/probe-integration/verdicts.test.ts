import { runProbe } from '@syncscope/core/probe/run-probe';
import { readReference } from '@syncscope/core/testing/reference';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProbeReport } from '../output/format-report.ts';
import { startCaptureServer } from './capture-server.ts';
import { type ProbeHarness, startProbeHarness } from './probe-harness.ts';

const logger = pino({ level: 'silent' });

/**
 * What the real service 1.25 answered in the captures, served in place of the dev server's admin API or
 * sync endpoint: the probe must classify the service's own answers.
 */
describe('verdicts from what the service says', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('probe_verdicts');
  });
  afterAll(async () => h?.close());

  /** Routes to capture files, or to `{ body }` built from one. */
  const probeWith = async (
    routes: Record<string, string | { body: string }>,
    use: 'adminUrl' | 'syncUrl',
    status = 200,
    userId = DEMO_USERS.alice.id
  ) => {
    const server = await startCaptureServer(
      Object.fromEntries(
        Object.entries(routes).map(([path, answer]) => [
          path,
          { status, body: typeof answer === 'string' ? readReference(answer) : answer.body }
        ])
      )
    );
    try {
      return await runProbe({ ...h.target, [use]: server.url }, userId, {
        logger,
        authorisation: h.authorisation,
        settleMs: 500
      });
    } finally {
      await server.close();
    }
  };

  it('a rules version reprocessing (redeploy): inconclusive SERVICE_REPROCESSING naming both versions, no token minted', async () => {
    const report = await probeWith(
      {
        '/api/admin/v1/diagnostics': 'redeploy-diagnostics-3.json',
        '/api/sync-rules/v1/current': 'rules-current-during-redeploy.json'
      },
      'adminUrl'
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_REPROCESSING');
    expect(report.reason?.message).toMatch(
      /reprocessing newly deployed rules version 2 \(slot powersync_2_b809\) while rules version 1 \(slot powersync_1_0e83\) still serves/
    );
    expect(report.service).toMatchObject({
      activeSlot: 'powersync_1_0e83',
      deployingSlot: 'powersync_2_b809'
    });
    expect(report.token.jti).toBe('');
    expect(formatProbeReport(report)).toContain('inconclusive SYNCSCOPE_E_SERVICE_REPROCESSING: ');
  });

  it('a service still copying its initial snapshot: inconclusive SERVICE_INITIAL_REPLICATION saying so', async () => {
    // A fresh service's first version looks like the redeploy's new one before its snapshot is done.
    const redeploying = JSON.parse(readReference('redeploy-diagnostics-4.json'));
    const fresh = {
      data: {
        connections: redeploying.data.connections,
        active_sync_rules: redeploying.data.deploying_sync_rules
      }
    };
    const report = await probeWith(
      {
        '/api/admin/v1/diagnostics': { body: JSON.stringify(fresh) },
        '/api/sync-rules/v1/current': 'rules-current.json'
      },
      'adminUrl'
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_INITIAL_REPLICATION');
    expect(report.reason?.message).toMatch(
      /^The sync service is still copying its initial snapshot of the source \(rules version 2 \(slot powersync_2_b809\)\): users cannot sync until/
    );
    expect(report.service?.initialReplicationDone).toBe(false);
  });

  it('`next` alone (diagnostics read just before the new version appeared) is reprocessing too', async () => {
    const report = await probeWith(
      {
        '/api/admin/v1/diagnostics': 'redeploy-diagnostics-1.json',
        '/api/sync-rules/v1/current': 'rules-current-during-redeploy.json'
      },
      'adminUrl'
    );
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_REPROCESSING');
  });

  it('after the switch (version 2 active, next null): the probe runs, against the rules the service serves', async () => {
    const report = await probeWith(
      {
        '/api/admin/v1/diagnostics': 'redeploy-diagnostics-7.json',
        '/api/sync-rules/v1/current': 'rules-current-after-redeploy.json'
      },
      'adminUrl',
      200,
      DEMO_USERS.carol.id
    );
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.service).toMatchObject({ activeSlot: 'powersync_2_b809', rulesFromService: true });
    expect(report.warnings[0]).toMatch(/serves other sync rules .*rules version 2 \(slot powersync_2_b809\)/);
  });

  it('PSYNC_S2305 (HTTP 500, JSON body, no NDJSON): inconclusive BUCKET_LIMIT naming the code and the rule', async () => {
    const report = await probeWith(
      { '/sync/stream': 'stream-bucket-limit-too-many-buckets-alice.ndjson' },
      'syncUrl',
      500
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_BUCKET_LIMIT');
    expect(report.reason?.message).toMatch(
      /^The sync service refused the user's sync with PSYNC_S2305: Too many buckets: 1502 \(limit of 1000\)\. .*Bucket definition by_workspace gives most buckets \(\d+\)/
    );
    expect(report.sync).toMatchObject({ kind: 'service-error', httpStatus: 500, code: 'PSYNC_S2305' });
  });

  it('a deadline: inconclusive PROBE_DEADLINE naming the phase it stopped', async () => {
    const started = Date.now();
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation,
      deadlineMs: 150
    });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_PROBE_DEADLINE');
    expect(report.reason?.message).toMatch(
      /deadline of 0 s: it was stopped during (sync|schema|expected|mint)/
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a lost job lease (the signal): inconclusive JOB_LEASE_LOST, promptly', async () => {
    const lease = new AbortController();
    let abortedAt = 0;
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation,
      signal: lease.signal,
      onPhase: (phase) => {
        if (phase === 'sync') {
          abortedAt = Date.now();
          lease.abort('SYNCSCOPE_E_JOB_LEASE_LOST');
        }
      }
    });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_JOB_LEASE_LOST');
    expect(report.reason?.message).toMatch(/lost its lease on this probe's job during (schema and )?sync;/);
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
  });
});
