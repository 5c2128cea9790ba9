import { readFileSync } from 'node:fs';
import { runProbe } from '@syncscope/core/probe/run-probe';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { workspaceId } from '@syncscope/demo/seed/seed-plan';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, RULES_FILE, startProbeHarness } from './probe-harness.ts';

const logger = pino({ level: 'silent' });

// Column types whose conversion a service can get wrong: numeric, jsonb, timestamptz, arrays, bool, float.
const RULES = `${readFileSync(RULES_FILE, 'utf8')}      - SELECT * FROM gadgets WHERE workspace_id = bucket.workspace_id\n`;

describe('probing tricky column types, and a sync server that dies mid-probe', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('probe_types', RULES, async (pool) => {
      await pool.query(`CREATE TABLE gadgets (id text PRIMARY KEY, workspace_id text, price numeric, spec jsonb,
        seen_at timestamptz, tags text[], sizes int[], active boolean, ratio float8)`);
      await pool.query('ALTER PUBLICATION powersync ADD TABLE gadgets');
      await pool.query(
        `INSERT INTO gadgets VALUES
          ('g1', $1, 12345678901234567890.123456789, '{"a": [1, 2.50, {"b": null}], "z": "é"}', '2026-03-04 05:06:07.891234+02', '{a,"b c",NULL}', '{1,2,3}', true, 0.1),
          ('g2', $1, 'NaN', 'null', '-infinity', '{}', NULL, false, 3),
          ('g3', $1, 0.000, '"text"', '2026-01-01 00:00:00+00', '{"quo\\"te"}', '{}', NULL, -1.5e-7)`,
        [workspaceId(1)]
      );
    });
  });
  afterAll(async () => h?.close());

  it('is consistent when the service converts numeric, jsonb, timestamptz, arrays, bool and float as the rules library does', async () => {
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation,
      settleMs: 1000
    });
    expect(report.verdict, JSON.stringify(report.rows.differences.slice(0, 3))).toBe('consistent');
    expect(report.rows.perTable.gadgets).toEqual({ expected: 3, actual: 3 });
  });

  it('the sync server killed mid-probe: inconclusive SERVICE_UNREACHABLE instead of hanging, never a mismatch', async () => {
    const running = runProbe(h.target, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation,
      settleMs: 500,
      deadlineMs: 15_000
    });
    setTimeout(() => void h.sync.close(), 30);
    const report = await running;
    expect(report.verdict, report.summary).toBe('inconclusive');
    expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_UNREACHABLE');
    expect(report.summary).toMatch(/^Inconclusive: The sync service is unreachable: /);
    await h.restartSync();
  });
});
