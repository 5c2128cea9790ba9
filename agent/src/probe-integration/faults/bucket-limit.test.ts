import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from '../probe-harness.ts';
import { probeThrough } from './fault-harness.ts';

const MEMBERSHIPS = 1_500;

// The article's rules and a second definition with one bucket per user: the report names the rule that
// produced most of the buckets, not just any rule.
const RULES = `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM workspace_memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
      - SELECT * FROM categories WHERE workspace_id = bucket.workspace_id
  own_profile:
    parameters: SELECT id AS user_id FROM users WHERE id = request.user_id()
    data:
      - SELECT * FROM users WHERE id = bucket.user_id
`;

describe('fault: a user over the bucket limit', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness(
      'fault_bucket_limit',
      RULES,
      async (pool) => {
        // carol, in no workspace of the seed, joins 1,500 new ones.
        await pool.query(
          "INSERT INTO workspaces (id, name) SELECT gen_random_uuid(), 'crowded ' || n FROM generate_series(1, $1) n",
          [MEMBERSHIPS]
        );
        await pool.query(
          `INSERT INTO workspace_memberships (id, user_id, workspace_id, role)
             SELECT gen_random_uuid(), $1, id, 'member' FROM workspaces WHERE name LIKE 'crowded %'`,
          [DEMO_USERS.carol.id]
        );
      },
      // The parameter-results limit raised, so the bucket limit is the one the user reaches.
      { parameters: { max_parameter_query_results: 10_000 } }
    );
  }, 60_000);
  afterAll(async () => h?.close());

  it('1,500 buckets: inconclusive, naming PSYNC_S2305 and the rule that produced most buckets', async () => {
    const report = await probeThrough(h, h.target, DEMO_USERS.carol.id);
    console.log(
      `FAULT bucket-limit: ${report.buckets.expected.length} expected buckets; verdict ${report.verdict} (${report.reason?.code ?? report.error?.code}) in ${report.durationMs} ms: ${report.reason?.message ?? report.summary}`
    );
    expect({ verdict: report.verdict, reason: report.reason?.code }).toEqual({
      verdict: 'inconclusive',
      reason: 'SYNCSCOPE_E_BUCKET_LIMIT'
    });
    expect(report.reason?.message).toContain('PSYNC_S2305');
    // by_workspace named as the rule with most buckets (own_profile's one bucket may be mentioned beside it).
    expect(report.reason?.message).toMatch(/by_workspace\b[^.]*most buckets[^.]*1,?500/);
  }, 60_000);
});
