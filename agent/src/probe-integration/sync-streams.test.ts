import { explainRow } from '@syncscope/core/probe/explain/explain-row';
import { runProbe } from '@syncscope/core/probe/run-probe';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { recordId } from '@syncscope/demo/seed/seed-plan';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from './probe-harness.ts';

/** The article's rules as sync streams (edition 2), subscribed by default as the client does. */
const STREAMS = `config:
  edition: 2
streams:
  my_records:
    auto_subscribe: true
    query: SELECT * FROM records WHERE workspace_id IN (SELECT workspace_id FROM workspace_memberships WHERE user_id = auth.user_id())
  my_categories:
    auto_subscribe: true
    query: SELECT * FROM categories WHERE workspace_id IN (SELECT workspace_id FROM workspace_memberships WHERE user_id = auth.user_id())
`;
const logger = pino({ level: 'silent' });

describe('probing a stack whose rules are sync streams', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('probe_streams', STREAMS);
  });
  afterAll(async () => h?.close());

  it('a consistent user: every stream bucket and row present and equal', async () => {
    const report = await runProbe(h.target, DEMO_USERS.alice.id, {
      logger,
      authorisation: h.authorisation,
      settleMs: 1000,
      deadlineMs: 20_000
    });
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.buckets.expected).toHaveLength(4); // two streams × alice's two workspaces
    expect(report.buckets.expected.every((b) => /^1#my_(records|categories)\|/.test(b))).toBe(true);
    expect(report.rows.expected).toBe(80 + 8);
    expect(report.rows.actual).toBe(report.rows.expected);
  });

  it('an omitted row: mismatch naming the stream and its line', async () => {
    h.sync.faults.set({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      const report = await runProbe(h.target, DEMO_USERS.alice.id, {
        logger,
        authorisation: h.authorisation,
        settleMs: 1000,
        deadlineMs: 20_000
      });
      expect(report.verdict).toBe('mismatch');
      expect(report.rows.differences).toMatchObject([{ kind: 'missing', table: 'records', id: recordId(1) }]);
      const line = STREAMS.split('\n').findIndex((l) => l.includes('FROM records')) + 1;
      expect(report.rows.differences[0]!.explanation).toContain(`rule my_records, sync_rules.yaml:${line}`);
      expect(report.rows.differences[0]!.explanation).toMatch(/not delivered/);
    } finally {
      h.sync.faults.set({});
    }
  });

  it('explain traces a row through the stream that syncs it, and says why a user lacks it', async () => {
    const rules = loadSyncRules(STREAMS);
    const line = STREAMS.split('\n').findIndex((l) => l.includes('FROM records')) + 1;
    const held = await explainRow({
      sourceUrl: h.target.sourceUrl,
      rules,
      table: 'records',
      id: recordId(1),
      userId: DEMO_USERS.alice.id
    });
    expect(held.queries).toMatchObject([{ definition: 'my_records', line, selected: true }]);
    expect(held.queries[0]!.buckets).toHaveLength(1);
    // Held by exactly the members of the record's workspace, as workspace_memberships lists them.
    const { rows: members } = await h.pool.query<{ user_id: string }>(
      'SELECT m.user_id FROM workspace_memberships m JOIN records r ON r.workspace_id = m.workspace_id WHERE r.id = $1 ORDER BY m.user_id',
      [recordId(1)]
    );
    expect(held.queries[0]!.buckets[0]!.holders).toMatchObject({
      kind: 'users',
      userIds: members.map((m) => m.user_id)
    });
    expect(held.user?.holdsRow).toBe(true);
    expect(held.summary).toContain(`${DEMO_USERS.alice.id} holds it through 1#my_records|0[`);

    // carol is in no workspace: the stream gives her no bucket, and the trace says so with its line.
    const lacked = await explainRow({
      sourceUrl: h.target.sourceUrl,
      rules,
      table: 'records',
      id: recordId(1),
      userId: DEMO_USERS.carol.id
    });
    expect(lacked.user?.holdsRow).toBe(false);
    expect(lacked.queries[0]!.buckets[0]!.user?.reasons).toMatchObject([
      { code: 'stream-bucket-not-given', definition: 'my_records', line }
    ]);
    expect(lacked.summary).toContain(
      `stream my_records (line ${line}) gives ${DEMO_USERS.carol.id} no bucket`
    );
  });
});
