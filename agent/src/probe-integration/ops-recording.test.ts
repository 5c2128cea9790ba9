import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { createTestDatabase } from '@syncscope/core/testing/test-database';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTarget } from '../probe/probe-target.ts';
import { type ProbeHarness, startProbeHarness } from './probe-harness.ts';

describe('probe runs in the ops database', () => {
  let h: ProbeHarness;
  let ops: OpsDatabase;
  beforeAll(async () => {
    h = await startProbeHarness('probe_ops');
    const url = await createTestDatabase('probe_ops_syncscope');
    await migrateOpsDatabase(url);
    ops = new OpsDatabase(url);
  });
  afterAll(async () => {
    await ops?.close();
    await h?.close();
  });

  it('stores the report and audits every minted token with its jti, the actor and the reason', async () => {
    const report = await probeTarget({
      target: h.target,
      userId: DEMO_USERS.bob.id,
      logger: pino({ level: 'silent' }),
      ops,
      actor: 'cli:tester',
      reason: 'ticket #123: bob misses a record'
    });
    expect(report.verdict).toBe('consistent');
    const runs = await ops.pool.query('SELECT target, user_id, verdict, report FROM syncscope.probe_runs');
    expect(runs.rows).toHaveLength(1);
    expect(runs.rows[0]).toMatchObject({
      target: 'probe_ops',
      user_id: DEMO_USERS.bob.id,
      verdict: 'consistent'
    });
    expect(runs.rows[0].report.token.jti).toBe(report.token.jti);
    const audit = await ops.pool.query(
      "SELECT actor, subject_user, reason, details FROM syncscope.audit_log WHERE action = 'probe.token_minted'"
    );
    expect(audit.rows.length).toBeGreaterThanOrEqual(1);
    expect(audit.rows.map((r) => r.details.jti)).toContain(report.token.jti);
    expect(audit.rows[0]).toMatchObject({
      actor: 'cli:tester',
      subject_user: DEMO_USERS.bob.id,
      reason: 'ticket #123: bob misses a record'
    });
    expect(JSON.stringify(audit.rows)).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });
});
