import { runProbe } from '@syncscope/core/probe/run-probe';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { recordId, workspaceId } from '@syncscope/demo/seed/seed-plan';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from './probe-harness.ts';

const logger = pino({ level: 'silent' });

/** Light probes (the stream read at the protocol level) against the dev sync server, confirmed by full ones. */
describe('light probes', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('light_probe');
  });
  afterAll(async () => h?.close());

  const light = (userId: string, onPhase?: (phase: string) => void) =>
    runProbe(h.target, userId, {
      mode: 'light',
      logger,
      authorisation: h.authorisation,
      settleMs: 1500,
      deadlineMs: 40_000,
      onPhase
    });

  it.each(Object.values(DEMO_USERS))(
    'demo user $id is consistent in light mode, with no full probe run',
    async (user) => {
      const report = await light(user.id);
      expect(report.verdict, report.summary).toBe('consistent');
      expect(report.mode).toBe('light');
      expect(report.confirmation).toBeUndefined();
      expect(report.rows.actual).toBe(report.rows.expected);
      expect(report.phases.confirm).toBeUndefined();
    }
  );

  it('concurrent light probes: one stream and one write checkpoint each, the echo read on that stream', async () => {
    const users = Object.values(DEMO_USERS);
    const streams = h.sync.stats.streamsOpened;
    const writeCheckpoints = h.sync.stats.writeCheckpointsCreated;
    const reports = await Promise.all(users.map((u) => light(u.id)));
    for (const report of reports) {
      expect(report.verdict, report.summary).toBe('consistent');
      expect(report.replication?.writeCheckpointEchoed).toBe(true);
    }
    // A full probe opens a second stream per probe for its echo; the light probe has its own.
    expect(h.sync.stats.streamsOpened - streams).toBe(users.length);
    expect(h.sync.stats.writeCheckpointsCreated - writeCheckpoints).toBe(users.length);
  });

  it('a user over ownThreadFromOperations: expected rows on a thread of its own (spilled), diffed against the live rows alike', async () => {
    const logged: string[] = [];
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      mode: 'light',
      logger: pino({ level: 'debug' }, { write: (line: string) => logged.push(line) }),
      authorisation: h.authorisation,
      settleMs: 1500,
      deadlineMs: 40_000,
      ownThreadFromOperations: 1
    });
    expect(report.verdict, report.summary).toBe('consistent');
    expect(logged.some((l) => l.includes('expected state on a thread of its own'))).toBe(true);
    expect(report.rows.expected).toBeGreaterThan(0);
    expect(report.rows.actual).toBe(report.rows.expected);
  });

  it('a source write made just before the probe is seen by both its snapshot and its stream: consistent, nothing to confirm', async () => {
    // alice holds record 1 (the omitted-row test below leaves it out).
    await h.pool.query("UPDATE records SET title = 'written just before the probe' WHERE id = $1", [
      recordId(1)
    ]);
    const report = await light(DEMO_USERS.alice.id);
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.confirmation).toBeUndefined();
    // The stream may reach the write a moment after the snapshot: at most a difference the settle window cleared.
    expect(report.rows.differences.filter((d) => d.settled === 'persisted')).toEqual([]);
  });

  it('an omitted row: found by the light probe, confirmed by a full probe → mismatch ROWS_DIFFER, both reports', async () => {
    h.sync.faults.set({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      const report = await light(DEMO_USERS.alice.id);
      expect(report.verdict, report.summary).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_ROWS_DIFFER');
      expect(report.reason?.message).toMatch(/confirmed by a full probe/);
      // The light probe's own finding…
      expect(report.rows.differences.find((d) => d.id === recordId(1))).toMatchObject({
        kind: 'missing',
        settled: 'persisted'
      });
      // …and the full probe's, which decided the verdict.
      expect(report.confirmation?.mode).toBe('full');
      expect(report.confirmation?.verdict).toBe('mismatch');
      expect(report.confirmation?.rows.differences.find((d) => d.id === recordId(1))?.kind).toBe('missing');
      expect(report.confirmation?.token.jti).not.toBe(report.token.jti);

      // Stored as two runs naming each other.
      const lightId = await h.ops.recordProbeRun(report);
      const { rows } = await h.ops.pool.query<{
        id: string;
        mode: string;
        confirmed_by: string;
        confirms: string;
        verdict: string;
      }>(
        'SELECT id, mode, confirmed_by, confirms, verdict FROM syncscope.probe_runs WHERE id = $1 OR confirms = $1 ORDER BY mode',
        [lightId]
      );
      expect(rows).toHaveLength(2);
      const [full, lightRun] = rows;
      expect(lightRun).toMatchObject({ id: lightId, mode: 'light', confirmed_by: full!.id, confirms: null });
      expect(full).toMatchObject({
        mode: 'full',
        confirms: lightId,
        confirmed_by: null,
        verdict: 'mismatch'
      });
      const stored = await h.ops.pool.query<{ report: { confirmation?: unknown; confirmedByRun?: string } }>(
        'SELECT report FROM syncscope.probe_runs WHERE id = $1',
        [lightId]
      );
      expect(stored.rows[0]!.report.confirmation).toBeUndefined();
      expect(stored.rows[0]!.report.confirmedByRun).toBe(full!.id);
    } finally {
      h.sync.faults.set({});
    }
  }, 60_000);

  it('a corrupted checkpoint checksum: the light probe fails the checksum twice as the client would → confirmed CHECKSUM_FAILURE_LOOP', async () => {
    const bucket = `1#by_workspace["${workspaceId(1)}"]`;
    h.sync.faults.set({ corruptChecksums: [bucket] });
    try {
      const report = await light(DEMO_USERS.alice.id);
      expect(report.sync).toEqual({ kind: 'checksum-failure-loop', failures: 2, buckets: [bucket] });
      expect(report.verdict, report.summary).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP');
      expect(report.confirmation?.sync.kind).toBe('checksum-failure-loop');
    } finally {
      h.sync.faults.set({});
    }
  }, 60_000);

  it('a light difference the full probe does not see: consistent, saying what the light probe saw and why it is not a mismatch', async () => {
    h.sync.faults.set({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      // The fault ends as the confirmation starts: the service now delivers the row.
      const report = await light(DEMO_USERS.alice.id, (phase) => {
        if (phase === 'confirm') h.sync.faults.set({});
      });
      expect(report.verdict, report.summary).toBe('consistent');
      expect(report.summary).toMatch(/light probe saw .*but a full probe with the real client.*consistent/);
      expect(report.confirmation?.verdict).toBe('consistent');
      expect(report.warnings.some((w) => w.includes('not confirmed'))).toBe(true);
    } finally {
      h.sync.faults.set({});
    }
  }, 60_000);

  it('the sync server killed mid-probe: inconclusive SERVICE_UNREACHABLE, never a mismatch, nothing to confirm', async () => {
    // Each stream line waits 1 s, so the service goes away while the light probe's stream is open (a
    // kill after the sync would leave only the write-checkpoint echo to fail, which a full probe confirms).
    h.sync.faults.set({ delayMs: 1000 });
    const running = runProbe(h.target, DEMO_USERS.alice.id, {
      mode: 'light',
      logger,
      authorisation: h.authorisation,
      settleMs: 500,
      deadlineMs: 20_000
    });
    setTimeout(() => void h.sync.close(), 300);
    try {
      const report = await running;
      expect(report.verdict, report.summary).toBe('inconclusive');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_UNREACHABLE');
      expect(report.confirmation).toBeUndefined();
    } finally {
      h.sync.faults.set({});
      await h.restartSync();
    }
  }, 40_000);
});
