import { explainRow } from '@syncscope/core/probe/explain/explain-row';
import type { ProbeReport } from '@syncscope/core/probe/probe-types';
import { runProbe } from '@syncscope/core/probe/run-probe';
import { loadSyncRules } from '@syncscope/core/sync-rules/load-sync-rules';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { recordId, workspaceId } from '@syncscope/demo/seed/seed-plan';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../cli/run-cli-captured.ts';
import {
  type HarnessTargetsHome,
  type ProbeHarness,
  startProbeHarness,
  writeHarnessTargetsHome
} from './probe-harness.ts';
import { RECORDS_PER_WORKSPACE, subscribeToWorkspace, WORKSPACE_STREAMS } from './workspace-streams.ts';

const RECORDS_LINE = WORKSPACE_STREAMS.split('\n').findIndex((l) => l.includes('FROM records')) + 1;
const logger = pino({ level: 'silent' });
const alice = DEMO_USERS.alice.id;

describe('probing a user with explicit sync-stream subscriptions', () => {
  let h: ProbeHarness;
  let home: HarnessTargetsHome;
  let cliEnv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    h = await startProbeHarness('probe_stream_subs', WORKSPACE_STREAMS);
    // The same target in a targets file, for the CLI: rules beside it, secrets from the environment.
    home = await writeHarnessTargetsHome(h, 'streams', WORKSPACE_STREAMS);
    cliEnv = home.env;
  });
  afterAll(async () => {
    await h?.close();
    await home?.remove();
  });

  const cli = async (args: string[]) => {
    const r = await runCliCaptured(args, { env: cliEnv });
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // never a stack trace
    return r;
  };

  it('syncscope probe --subscribe: the subscribed workspace is consistent, and the report records the subscription', async () => {
    const { code, stdout, stderr } = await cli([
      'probe',
      '--reason',
      'test',
      '--target',
      'streams',
      '--user',
      alice,
      '--subscribe',
      `workspace_records={"workspace_id":"${workspaceId(1)}"}`,
      '--json'
    ]);
    const report = JSON.parse(stdout) as ProbeReport;
    expect(code, `${report.summary} ${stderr}`).toBe(0);
    expect(report.verdict).toBe('consistent');
    expect(report.subscriptions).toEqual([subscribeToWorkspace(1)]);
    expect(report.rows.perTable.records).toEqual({
      expected: RECORDS_PER_WORKSPACE,
      actual: RECORDS_PER_WORKSPACE
    });
    expect(report.rows.perTable.workspaces).toEqual({ expected: 2, actual: 2 });
    expect(report.buckets.actual).toEqual(report.buckets.expected);
    expect(report.buckets.expected.some((b) => b.startsWith('1#workspace_records|'))).toBe(true);
  });

  it('without the subscription the stream syncs nothing, and nothing of it is expected', async () => {
    const report = await runProbe(h.target, alice, {
      logger,
      authorisation: h.authorisation,
      settleMs: 1000,
      deadlineMs: 20_000
    });
    expect(report.verdict, report.summary).toBe('consistent');
    expect(report.subscriptions).toEqual([]);
    expect(report.rows.perTable.records).toBeUndefined();
    expect(report.rows.perTable.workspaces).toEqual({ expected: 2, actual: 2 });
    expect([...report.buckets.expected, ...report.buckets.actual].join(' ')).not.toContain(
      'workspace_records'
    );
  });

  it('an omitted row of a subscribed stream: mismatch naming the stream and its line', async () => {
    h.sync.faults.set({ omitRows: [{ table: 'records', id: recordId(1) }] });
    try {
      const report = await runProbe(h.target, alice, {
        subscriptions: [subscribeToWorkspace(1)],
        logger,
        authorisation: h.authorisation,
        settleMs: 1000,
        deadlineMs: 20_000
      });
      expect(report.verdict).toBe('mismatch');
      expect(report.rows.differences).toMatchObject([{ kind: 'missing', table: 'records', id: recordId(1) }]);
      expect(report.rows.differences[0]!.explanation).toContain(
        `rule workspace_records, sync_rules.yaml:${RECORDS_LINE}`
      );
      expect(report.rows.differences[0]!.explanation).toMatch(/not delivered/);
    } finally {
      h.sync.faults.set({});
    }
  });

  it('explain says why a user lacks the row: no subscription to the stream, or one that selects another workspace', async () => {
    const rules = loadSyncRules(WORKSPACE_STREAMS);
    const explain = (subscriptions: ReturnType<typeof subscribeToWorkspace>[]) =>
      explainRow({
        sourceUrl: h.target.sourceUrl,
        rules,
        table: 'records',
        id: recordId(1),
        userId: alice,
        subscriptions
      });

    const unsubscribed = await explain([]);
    expect(unsubscribed.user?.holdsRow).toBe(false);
    const [stream] = unsubscribed.queries;
    expect(stream).toMatchObject({ definition: 'workspace_records', line: RECORDS_LINE, selected: true });
    expect(stream!.buckets[0]!.user?.reasons).toMatchObject([
      { code: 'stream-not-subscribed', definition: 'workspace_records', line: RECORDS_LINE }
    ]);
    expect(unsubscribed.summary).toContain(
      `stream workspace_records (line ${RECORDS_LINE}) has no auto_subscribe and ${alice} has no subscription to it`
    );

    const otherWorkspace = await explain([subscribeToWorkspace(2)]);
    expect(otherWorkspace.user?.holdsRow).toBe(false);
    expect(otherWorkspace.queries[0]!.buckets[0]!.user?.reasons).toMatchObject([
      { code: 'stream-subscription-selects-other', definition: 'workspace_records' }
    ]);
    expect(otherWorkspace.summary).toContain(
      `with subscription #0 workspace_records={"workspace_id":"${workspaceId(2)}"}, stream workspace_records`
    );
    expect(otherWorkspace.summary).toContain("the subscription's parameters");

    const subscribed = await explain([subscribeToWorkspace(1)]);
    expect(subscribed.user?.holdsRow).toBe(true);
    expect(subscribed.user?.subscriptions).toEqual([subscribeToWorkspace(1)]);
  });

  it('syncscope explain --user --subscribe prints the reason and the subscription', async () => {
    const { code, stdout } = await cli([
      'explain',
      '--target',
      'streams',
      '--table',
      'records',
      '--id',
      recordId(1),
      '--user',
      alice,
      '--subscribe',
      `workspace_records={"workspace_id":"${workspaceId(2)}"}`
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`Subscriptions: workspace_records={"workspace_id":"${workspaceId(2)}"}`);
    expect(stdout).toContain(
      "the subscription's parameters (with this user's token) select a different bucket"
    );
  });

  it('syncscope explain --table --id prints who holds each stream bucket: the members, when subscribed', async () => {
    const members = async (workspace: number) =>
      (
        await h.pool.query<{ user_id: string }>(
          'SELECT user_id FROM workspace_memberships WHERE workspace_id = $1 ORDER BY user_id',
          [workspaceId(workspace)]
        )
      ).rows.map((r) => r.user_id);
    const inWorkspace1 = await members(1);
    expect(inWorkspace1).toContain(alice);

    const records = await cli(['explain', '--target', 'streams', '--table', 'records', '--id', recordId(1)]);
    expect(records.code).toBe(0);
    expect(records.stdout).toContain(
      `held by: any client of ${inWorkspace1.join(' or ')} subscribing to workspace_records with workspace_id = '${workspaceId(1)}'`
    );

    // my_workspaces is subscribed by default: its bucket is held by the members themselves.
    const workspace = await cli([
      'explain',
      '--target',
      'streams',
      '--table',
      'workspaces',
      '--id',
      workspaceId(1)
    ]);
    expect(workspace.code).toBe(0);
    expect(workspace.stdout).toContain(`held by: ${inWorkspace1.join(', ')}\n`);
  });

  it('the engine refuses an unknown stream too (agent and console callers): an error verdict, no token minted', async () => {
    const report = await runProbe(h.target, alice, {
      subscriptions: [{ ...subscribeToWorkspace(1), stream: 'workspace_recrods' }],
      logger,
      authorisation: h.authorisation,
      deadlineMs: 20_000
    });
    expect(report.verdict).toBe('error');
    expect(report.error?.code).toBe('SYNCSCOPE_E_STREAM_UNKNOWN');
    expect(report.token.jti).toBe('');
  });

  it.each([
    ['probe', '--reason', 'test', '--user', alice],
    ['explain', '--table', 'records', '--id', recordId(1), '--user', alice]
  ])(
    '%s with an unknown stream name: SYNCSCOPE_E_STREAM_UNKNOWN listing the streams, exit 3 (probe: error verdict) or 2',
    async (...args) => {
      const { code, stdout, stderr } = await cli([
        ...args,
        '--target',
        'streams',
        '--subscribe',
        'workspace_recrods={"workspace_id":"w1"}'
      ]);
      expect(code).toBe(args[0] === 'probe' ? 3 : 2);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        'SYNCSCOPE_E_STREAM_UNKNOWN: The sync rules define no stream "workspace_recrods": subscribe to one of "my_workspaces", "workspace_records".\n'
      );
    }
  );
});
