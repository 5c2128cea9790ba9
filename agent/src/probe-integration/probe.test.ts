import { ExpectedStateWorker } from '@syncscope/core/probe/expected/expected-state-worker';
import { runProbe } from '@syncscope/core/probe/run-probe';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { recordId, workspaceId } from '@syncscope/demo/seed/seed-plan';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProbeReport } from '../output/format-report.ts';
import { type ProbeHarness, startProbeHarness } from './probe-harness.ts';

const logger = pino({ level: 'silent' });
const probe = (h: ProbeHarness, userId: string, settleMs = 1500) =>
  runProbe(h.target, userId, { logger, authorisation: h.authorisation, settleMs, deadlineMs: 20_000 });

describe('probing a user through the dev sync server', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('probe_engine');
  });
  afterAll(async () => h?.close());

  it('a consistent user: every expected row present and equal', async () => {
    const report = await probe(h, DEMO_USERS.alice.id);
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.buckets.expected.sort()).toEqual(
      [`1#by_workspace["${workspaceId(1)}"]`, `1#by_workspace["${workspaceId(2)}"]`].sort()
    );
    expect(report.rows.expected).toBe(80 + 8);
    expect(report.rows.actual).toBe(report.rows.expected);
    expect(report.rows.differences).toEqual([]);
    expect(report.token.jti).toMatch(/[0-9a-f-]{36}/);
    expect(report.version).toBe(2);
  });

  it('an omitted row: mismatch naming the undelivered row as a service fault', async () => {
    h.sync.faults.set({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      const report = await probe(h, DEMO_USERS.alice.id);
      expect(report.verdict).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_ROWS_DIFFER');
      const missing = report.rows.differences.find((d) => d.id === recordId(1));
      expect(missing?.kind).toBe('missing');
      expect(missing?.settled).toBe('persisted');
      expect(missing?.explanation).toMatch(/not delivered/);
      expect(missing?.explanation).toMatch(/service fault/);
      const line = h.target.syncRulesYaml.split('\n').findIndex((l) => l.includes('FROM records')) + 1;
      expect(missing?.explanation).toContain(`rule by_workspace, sync_rules.yaml:${line}`);
    } finally {
      h.sync.faults.set({});
    }
  });

  it("with the expected state on the agent's kept worker thread: the same verdicts", async () => {
    const expectedStateWorker = new ExpectedStateWorker();
    try {
      const opts = {
        logger,
        authorisation: h.authorisation,
        settleMs: 1500,
        deadlineMs: 20_000,
        expectedStateWorker
      };
      const consistent = await runProbe(h.target, DEMO_USERS.alice.id, opts);
      expect(consistent.verdict, consistent.summary).toBe('consistent');
      expect(consistent.rows.expected).toBe(80 + 8);
      h.sync.faults.set({ omitRows: [{ table: 'records', id: recordId(1) }] });
      const omitted = await runProbe(h.target, DEMO_USERS.alice.id, opts);
      expect(omitted.verdict).toBe('mismatch');
      expect(omitted.rows.differences).toMatchObject([
        { kind: 'missing', table: 'records', id: recordId(1), settled: 'persisted' }
      ]);
    } finally {
      h.sync.faults.set({});
      await expectedStateWorker.close();
    }
  });

  it('a one-shot probe of a user with many operations computes the expected state on a thread of its own', async () => {
    const lines: string[] = [];
    const debugLogger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
    // The threshold lowered to the demo user's size: the path a 30,000-operation user takes.
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      logger: debugLogger,
      authorisation: h.authorisation,
      settleMs: 1500,
      deadlineMs: 20_000,
      ownThreadFromOperations: 50
    });
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.rows.expected).toBe(80 + 8);
    const ownThread = lines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'expected state on a thread of its own');
    expect(ownThread?.operations).toBeGreaterThanOrEqual(88);
  });

  it('a corrupted checksum: mismatch naming the checksum-failure loop', async () => {
    h.sync.faults.set({ corruptChecksums: [`1#by_workspace["${workspaceId(1)}"]`] });
    try {
      const report = await probe(h, DEMO_USERS.alice.id);
      expect(report.verdict).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP');
      expect(report.sync.kind).toBe('checksum-failure-loop');
      expect(report.summary).toMatch(/checksum-failure loop/);
      expect(report.summary).toContain(workspaceId(1));
    } finally {
      h.sync.faults.set({});
    }
  });

  it('stalled replication: mismatch REPLICATION_STALLED, saying since when and how far behind, with the row that persisted', async () => {
    h.sync.faults.set({ stallReplication: true });
    try {
      const stalledAt = Date.now();
      await h.pool.query("UPDATE records SET title = 'changed while stalled' WHERE id = $1", [recordId(2)]);
      const report = await probe(h, DEMO_USERS.alice.id);
      expect(report.verdict).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_REPLICATION_STALLED');
      expect(report.reason?.message).toMatch(
        /Replication has stalled since \d\d:\d\d:\d\d UTC \(lag \d+ s, (?:[\d,]+ bytes behind, )?slot \S+ [\d,]+ bytes unconfirmed, write checkpoint not echoed\)/
      );
      const since = Date.parse(report.replication!.stalledSince!);
      expect(Math.abs(since - stalledAt)).toBeLessThan(2_000);
      expect(report.replication?.slot?.confirmedFlushLagBytes).toBeGreaterThan(0);
      const diff = report.rows.differences.find((d) => d.id === recordId(2));
      expect(diff?.kind).toBe('different');
      expect(diff?.fields?.map((f) => f.field)).toEqual(['title']);
      expect(diff?.explanation).toMatch(/stalled/);
    } finally {
      h.sync.faults.set({});
    }
  });

  it('more differences than the report keeps: the first N listed in full, the totals counted', async () => {
    h.sync.faults.set({ stallReplication: true });
    try {
      const { rowCount } = await h.pool.query(
        "UPDATE records SET title = title || ' (changed while stalled)' WHERE workspace_id = ANY($1)",
        [[workspaceId(1), workspaceId(2)]]
      );
      expect(rowCount).toBe(80);
      const report = await runProbe(h.target, DEMO_USERS.alice.id, {
        logger,
        authorisation: h.authorisation,
        settleMs: 1500,
        deadlineMs: 20_000,
        maxDifferences: 25
      });
      expect(report.verdict).toBe('mismatch');
      expect(report.rows.differenceCounts).toEqual({ missing: 0, extra: 0, different: 80 });
      expect(report.rows.differences).toHaveLength(25);
      expect(report.rows.differencesOmitted).toBe(55);
      expect(report.rows.differences.every((d) => d.kind === 'different' && d.settled === 'persisted')).toBe(
        true
      );
      expect(report.rows.differences[0]!.fields?.map((f) => f.field)).toEqual(['title']);
      // Listed in key order: the first 25 ids of alice's records.
      const ids = report.rows.differences.map((d) => d.id);
      expect(ids).toEqual([...ids].sort());
      expect(report.summary).toMatch(/^Mismatch: 80 row and 0 bucket differences. Replication has stalled/);
      expect(report.checksums.rowMismatches).toBe(80);
      expect(formatProbeReport(report)).toContain(
        '… and 55 more persisted differences not kept in the report'
      );
    } finally {
      h.sync.faults.set({});
    }
  });

  it('replication lag that clears within the settle window: consistent, the difference reported as cleared lag', async () => {
    h.sync.faults.set({ stallReplication: true });
    await h.pool.query("UPDATE records SET title = 'lagging change' WHERE id = $1", [recordId(11)]);
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation,
      settleMs: 8000,
      // The stall ends once the first diff has seen the difference: the client then catches up.
      onPhase: (phase) => {
        if (phase === 'settle') setTimeout(() => h.sync.faults.set({}), 300);
      }
    });
    h.sync.faults.set({});
    expect(report.verdict, report.summary).toBe('consistent');
    const lag = report.rows.differences.find((d) => d.id === recordId(11));
    expect(lag).toMatchObject({ kind: 'different', settled: 'cleared', table: 'records' });
    expect(lag?.clearedAfterMs).toBeGreaterThan(0);
    expect(lag?.explanation).toMatch(/replication lag, not a fault/);
    expect(report.summary).toMatch(/cleared within the settle window/);
  });

  it('a write checkpoint never echoed: mismatch naming it', async () => {
    h.sync.faults.set({ neverEchoWriteCheckpoints: true });
    try {
      const report = await probe(h, DEMO_USERS.alice.id);
      expect(report.verdict).toBe('mismatch');
      expect(report.reason?.code).toBe('SYNCSCOPE_E_WRITE_CHECKPOINT_NOT_ECHOED');
      expect(report.replication?.writeCheckpointEchoed).toBe(false);
      expect(report.summary).toMatch(/write checkpoint/);
    } finally {
      h.sync.faults.set({});
    }
  });

  it("a wrong signing key: inconclusive SERVICE_REFUSED_TOKEN with the service's code, saying the key or kid does not match", async () => {
    const report = await runProbe(
      {
        ...h.target,
        signing: { kind: 'hs256', kid: h.target.signing.kid, secret: new Uint8Array(32).fill(1) }
      },
      DEMO_USERS.alice.id,
      {
        logger,
        authorisation: h.authorisation
      }
    );
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_REFUSED_TOKEN');
    expect(report.reason?.message).toMatch(/PSYNC_S21\d\d/);
    expect(report.summary).toMatch(/signing key and kid/);
    expect(report.sync.kind).toBe('auth-rejected');
  });

  it('an unreachable service: inconclusive SERVICE_UNREACHABLE, with the address', async () => {
    const report = await runProbe({ ...h.target, syncUrl: 'http://127.0.0.1:9' }, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation
    });
    expect(report.verdict).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_UNREACHABLE');
    expect(report.summary).toMatch(/unreachable: cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it('a table dropped from the publication and then changed: stale rows explained by the publication', async () => {
    await h.pool.query('ALTER PUBLICATION powersync DROP TABLE categories');
    try {
      await h.pool.query(
        "UPDATE categories SET name = 'renamed after unpublishing' WHERE workspace_id = $1",
        [workspaceId(1)]
      );
      const report = await probe(h, DEMO_USERS.alice.id);
      expect(report.verdict).toBe('mismatch');
      const stale = report.rows.differences.filter((d) => d.table === 'categories');
      expect(stale.length).toBe(4);
      expect(stale[0]!.explanation).toMatch(/not in the publication "powersync"/);
    } finally {
      await h.pool.query('ALTER PUBLICATION powersync ADD TABLE categories');
    }
  });

  it('a user with no buckets: consistent, holding nothing', async () => {
    const report = await probe(h, DEMO_USERS.carol.id);
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.buckets.expected).toEqual([]);
    expect(report.rows.actual).toBe(0);
  });

  it('malformed sync rules without an admin API: the probe could not run, and the error names the line', async () => {
    const broken = {
      ...h.target,
      adminUrl: undefined,
      adminToken: undefined,
      syncRulesYaml:
        'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM records WHERE workspace_id = bucket.nope\n'
    };
    const report = await runProbe(broken, DEMO_USERS.alice.id, { logger, authorisation: h.authorisation });
    expect(report.verdict).toBe('error');
    expect(report.error?.code).toBe('SYNCSCOPE_E_SYNC_RULES_INVALID');
    expect(report.summary).toContain('sync_rules.yaml:4:');
  });

  it("rules that differ from the service's: compared against what the service serves, with a warning", async () => {
    const stale = {
      ...h.target,
      syncRulesYaml:
        'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM records WHERE workspace_id = bucket.nope\n'
    };
    const report = await runProbe(stale, DEMO_USERS.bob.id, { logger, authorisation: h.authorisation });
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.rows.expected).toBeGreaterThan(0);
    expect(report.service).toMatchObject({ initialReplicationDone: true, rulesFromService: true });
    expect(report.warnings.join('\n')).toMatch(
      /The service serves other sync rules than sync_rules.yaml .*compared against the rules the service serves/
    );
  });

  it('prints no secret in its JSON report', async () => {
    const report = await probe(h, DEMO_USERS.bob.id);
    const json = JSON.stringify(report);
    expect(json).not.toContain(Buffer.from(h.secret).toString('base64url'));
    expect(json).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/); // no JWT
    expect(json).not.toContain('postgres:postgres');
  });
});
