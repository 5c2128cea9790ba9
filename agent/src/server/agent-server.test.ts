import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { PROBE_REPORT_VERSION, type ProbeReport } from '@syncscope/core/probe/probe-types';
import { createTestAuditSink } from '@syncscope/core/testing/test-audit-sink';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import type { ProbeRequest } from '../probe/probe-target.ts';
import { targetsSource } from '../probe/resolve-target.ts';
import { type AgentServer, startAgentServer } from './agent-server.ts';

const TOKEN = 'agent-token-0123456789-abcdef';
const USER = 'user-7f3a-never-a-label';

/** What the next fake probes end with (first in, first out); a mismatch when empty. */
const script: Pick<ProbeReport, 'verdict' | 'reason'>[] = [];

function fakeReport(request: ProbeRequest): ProbeReport {
  return {
    version: PROBE_REPORT_VERSION,
    target: request.target.name,
    userId: request.userId,
    verdict: 'mismatch',
    mode: request.mode ?? 'full',
    ...script.shift(),
    summary: 'Mismatch: 1 row and 0 bucket differences.',
    startedAt: new Date().toISOString(),
    durationMs: 1500,
    phases: { mint: 3, sync: 900, expected: 400, diff: 20, settle: 150, 'brand-new-phase': 5 },
    token: { kid: 'probe-1', jti: 'j', expiresAt: new Date().toISOString(), audience: 'syncscope-probe' },
    sync: { kind: 'synced', ms: 900 },
    buckets: { expected: ['1#b["x"]'], actual: ['1#b["x"]'], differences: [], overLimit: false },
    rows: {
      expected: 2,
      actual: 1,
      perTable: { records: { expected: 2, actual: 1 } },
      differences: [
        {
          kind: 'missing',
          table: 'records',
          id: 'r1',
          buckets: ['1#b["x"]'],
          settled: 'persisted',
          explanation: 'omitted'
        },
        {
          kind: 'extra',
          table: 'records',
          id: 'r2',
          buckets: [],
          settled: 'cleared',
          clearedAfterMs: 50,
          explanation: 'lag'
        }
      ]
    },
    checksums: { bucketMismatches: [], rowMismatches: 0 },
    warnings: []
  };
}

describe('the agent server', () => {
  let dir: string;
  let agent: AgentServer;
  const requests: ProbeRequest[] = [];
  let release: (() => void) | undefined;

  let ops: OpsDatabase;

  beforeAll(async () => {
    ops = (await createTestAuditSink('agent_server')).ops;
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-agent-'));
    await writeFile(
      path.join(dir, 'rules.yaml'),
      `config:
  edition: 2
streams:
  list_todos:
    query: SELECT * FROM todos WHERE list_id = subscription.parameter('list_id')
  inbox:
    query: SELECT * FROM messages WHERE owner = auth.user_id()
`
    );
    const target = (name: string) => `  ${name}:
    sync_url: http://127.0.0.1:1
    source_url: postgres://probe@127.0.0.1:1/app
    sync_rules: { path: rules.yaml }
    signing_key: { kid: probe-1, hs256_secret: !env HS }
    audience: syncscope-probe
`;
    const file = path.join(dir, 'targets.yaml');
    await writeFile(file, `targets:\n${target('prod')}${target('staging')}${target('canary')}`);
    agent = await startAgentServer({
      host: '127.0.0.1',
      port: 0,
      targets: targetsSource(file, { HS: Buffer.alloc(32, 1).toString('base64url') }),
      logger: pino({ level: 'silent' }),
      scrubber: new SecretScrubber(),
      token: TOKEN,
      ops,
      maxConcurrentProbes: 1,
      runProbe: async (request) => {
        requests.push(request);
        if (request.userId === 'slow') await new Promise<void>((resolve) => (release = resolve));
        const report = fakeReport(request);
        request.metrics?.record(report);
        return report;
      }
    });
  });
  afterAll(async () => {
    await agent?.close();
    await ops?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Every probe request names who asks and why (agent-server-auth.test.ts refuses it without). */
  const post = (body: Record<string, unknown>, token: string | null = TOKEN) =>
    fetch(`${agent.url}/probes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ actor: 'ops@example.com', reason: 'test', ...body })
    });
  const metricsText = async () => (await fetch(`${agent.url}/metrics`)).text();

  it('GET /healthz', async () => {
    const res = await fetch(`${agent.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, targets: 3, probesRunning: 0 });
  });

  it('GET /metrics reports every syncscope_probe_* series per target before the first probe, and passes promtool', async () => {
    const res = await fetch(`${agent.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const target of ['prod', 'staging', 'canary']) {
      for (const [verdict, reason] of [
        ['consistent', 'none'],
        ['mismatch', 'SYNCSCOPE_E_ROWS_DIFFER'],
        ['inconclusive', 'SYNCSCOPE_E_SERVICE_UNREACHABLE'],
        ['inconclusive', 'SYNCSCOPE_E_BUCKET_LIMIT'],
        ['error', 'SYNCSCOPE_E_INTERNAL_ERROR']
      ])
        for (const mode of ['light', 'full'])
          expect(text).toContain(
            `syncscope_probe_runs_total{target="${target}",verdict="${verdict}",reason="${reason}",mode="${mode}"} 0`
          );
      for (const verdict of ['consistent', 'mismatch', 'inconclusive', 'error'])
        expect(text).toContain(`syncscope_write_probe_runs_total{target="${target}",verdict="${verdict}"} 0`);
      expect(text).toContain(`syncscope_probe_consecutive_mismatches{target="${target}"} 0`);
      for (const mode of ['light', 'full'])
        expect(text).toContain(`syncscope_probe_duration_seconds_count{target="${target}",mode="${mode}"} 0`);
      expect(text).toContain(
        `syncscope_probe_phase_duration_seconds_count{target="${target}",phase="sync"} 0`
      );
      for (const kind of ['missing', 'extra', 'different'])
        expect(text).toContain(`syncscope_probe_row_differences{target="${target}",kind="${kind}"} 0`);
      expect(text).toContain(`syncscope_probe_last_run_timestamp_seconds{target="${target}"} 0`);
    }
    const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(names).toEqual(
      expect.arrayContaining([
        ['syncscope_probe_runs_total', 'counter'],
        ['syncscope_probe_consecutive_mismatches', 'gauge'],
        ['syncscope_probe_duration_seconds', 'histogram'],
        ['syncscope_probe_phase_duration_seconds', 'histogram'],
        ['syncscope_probe_row_differences', 'gauge'],
        ['syncscope_probe_last_run_timestamp_seconds', 'gauge']
      ])
    );
    for (const [name] of names) expect(name).toMatch(/^syncscope_/);
    // promtool is installed with the test dependencies (README); it lints names, units and help.
    const lint = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint).toBe('');
  });

  it('POST /probes without the bearer token (or with a wrong one) is 401 and runs nothing', async () => {
    for (const token of [null, 'wrong-token-0123456789-abcdef', `${TOKEN}x`]) {
      const res = await post({ target: 'prod', user: USER }, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: {
          code: 'SYNCSCOPE_E_AUTH_REQUIRED',
          message: `POST /probes needs "Authorization: Bearer <token>" with the agent's SYNCSCOPE_AGENT_TOKEN.`
        }
      });
    }
    const basic = await fetch(`${agent.url}/probes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Token ${TOKEN}` },
      body: '{}'
    });
    expect(basic.status).toBe(401);
    expect(requests).toHaveLength(0);
  });

  it('POST /probes with a bad body is 400, an unknown target 404', async () => {
    const missingUser = await post({ target: 'prod' });
    expect(missingUser.status).toBe(400);
    expect(((await missingUser.json()) as { error: { message: string } }).error.message).toMatch(
      /^Invalid probe request: user: /
    );
    const extra = await post({ target: 'prod', user: 'u', sub: 'x' });
    expect(extra.status).toBe(400);
    expect(((await extra.json()) as { error: { message: string } }).error.message).toMatch(
      /^Invalid probe request: sub: unknown field/
    );
    const reserved = await post({ target: 'prod', user: 'u', claims: { aud: 'x' } });
    expect(reserved.status).toBe(400);
    expect(((await reserved.json()) as { error: { code: string } }).error.code).toBe(
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID'
    );
    const notJson = await fetch(`${agent.url}/probes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: '{nope'
    });
    expect(notJson.status).toBe(400);
    const unknown = await post({ target: 'nope', user: 'u' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'SYNCSCOPE_E_TARGET_UNKNOWN',
      message: expect.stringContaining('No target named "nope"')
    });
    expect(requests).toHaveLength(0);
  });

  it('POST /probes runs the probe, answers the report and counts it in the metrics (no user id in labels)', async () => {
    const res = await post({ target: 'prod', user: USER, claims: { tenant: 't1' }, deadline_seconds: 30 });
    expect(res.status).toBe(200);
    const report = (await res.json()) as ProbeReport;
    expect(report).toMatchObject({ target: 'prod', userId: USER, verdict: 'mismatch' });
    expect(requests.at(-1)).toMatchObject({ userId: USER, claims: { tenant: 't1' }, deadlineMs: 30_000 });
    expect(requests.at(-1)!.target.name).toBe('prod');

    const text = await metricsText();
    expect(text).toContain(
      'syncscope_probe_runs_total{target="prod",verdict="mismatch",reason="none",mode="full"} 1'
    );
    expect(text).toContain('syncscope_probe_duration_seconds_sum{target="prod",mode="full"} 1.5');
    expect(text).toContain('syncscope_probe_phase_duration_seconds_sum{target="prod",phase="sync"} 0.9');
    expect(text).toContain('syncscope_probe_phase_duration_seconds_count{target="prod",phase="other"} 1');
    expect(text).toContain('syncscope_probe_row_differences{target="prod",kind="missing"} 1');
    expect(text).toContain('syncscope_probe_row_differences{target="prod",kind="extra"} 0'); // cleared: lag
    expect(text).toMatch(/syncscope_probe_last_run_timestamp_seconds\{target="prod"\} 1\d{9}/);
    expect(text).not.toContain(USER);
    expect(text).not.toContain('brand-new-phase');
  });

  it('a light probe is counted under mode="light", apart from full ones (a bounded label)', async () => {
    const res = await post({ target: 'prod', user: USER, mode: 'light' });
    expect(res.status).toBe(200);
    expect(requests.at(-1)!.mode).toBe('light');
    const text = await metricsText();
    expect(text).toContain(
      'syncscope_probe_runs_total{target="prod",verdict="mismatch",reason="none",mode="light"} 1'
    );
    expect(text).toContain('syncscope_probe_duration_seconds_count{target="prod",mode="light"} 1');
    expect(text).toContain('syncscope_probe_duration_seconds_count{target="prod",mode="full"} 1');
  });

  it('POST /probes carries stream subscriptions to the probe; a malformed one is 400', async () => {
    const res = await post({
      target: 'prod',
      user: USER,
      subscriptions: [
        { stream: 'list_todos', parameters: { list_id: 'l1' } },
        { stream: 'inbox', priority: 1 }
      ]
    });
    expect(res.status).toBe(200);
    expect(requests.at(-1)!.subscriptions).toEqual([
      { stream: 'list_todos', parameters: { list_id: 'l1' }, priority: null },
      { stream: 'inbox', parameters: null, priority: 1 }
    ]);
    const bad = await post({ target: 'prod', user: USER, subscriptions: [{ stream: 'inbox', priority: 7 }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
      /^Invalid probe request: subscriptions\.0\.priority: /
    );
    // A stream the rules lack: refused before any probe runs, not a run stored and counted as an error.
    const probes = requests.length;
    const unknown = await post({ target: 'prod', user: USER, subscriptions: [{ stream: 'list_todo' }] });
    expect(unknown.status).toBe(400);
    const { error } = (await unknown.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('SYNCSCOPE_E_STREAM_UNKNOWN');
    expect(error.message).toContain('"list_todos"');
    expect(requests.length).toBe(probes);
  });

  it('counts runs by verdict and reason, and a mismatch streak only consistent ends, in /metrics', async () => {
    const probe = async (user: string, outcome: Pick<ProbeReport, 'verdict' | 'reason'>) => {
      script.push(outcome);
      expect((await post({ target: 'canary', user })).status).toBe(200);
      return metricsText();
    };
    const runs = (text: string, verdict: string, reason: string) =>
      Number(
        text.match(
          new RegExp(
            `^syncscope_probe_runs_total\\{target="canary",verdict="${verdict}",reason="${reason}",mode="full"\\} (\\d+)$`,
            'm'
          )
        )?.[1]
      );
    const streak = (text: string) =>
      Number(text.match(/^syncscope_probe_consecutive_mismatches\{target="canary"\} (\d+)$/m)?.[1]);
    const rowsDiffer = { code: 'SYNCSCOPE_E_ROWS_DIFFER', message: 'rows differ' } as const;
    const unreachable = {
      code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE',
      message: 'the service does not answer'
    } as const;

    await probe('ann', { verdict: 'mismatch', reason: rowsDiffer });
    expect(streak(await probe('ann', { verdict: 'mismatch', reason: rowsDiffer }))).toBe(2);
    // An outage neither extends nor ends ann's streak, and is counted with its reason.
    let text = await probe('ann', { verdict: 'inconclusive', reason: unreachable });
    expect(streak(text)).toBe(2);
    expect(runs(text, 'inconclusive', 'SYNCSCOPE_E_SERVICE_UNREACHABLE')).toBe(1);
    expect(runs(text, 'mismatch', 'SYNCSCOPE_E_ROWS_DIFFER')).toBe(2);
    text = await probe('ann', {
      verdict: 'error',
      reason: { code: 'SYNCSCOPE_E_INTERNAL_ERROR', message: 'bug' }
    });
    expect(streak(text)).toBe(2);
    expect(streak(await probe('ann', { verdict: 'mismatch', reason: rowsDiffer }))).toBe(3);
    // The gauge is the longest streak of any one user: bob's one mismatch does not lower it.
    expect(streak(await probe('bob', { verdict: 'mismatch', reason: rowsDiffer }))).toBe(3);
    text = await probe('ann', { verdict: 'consistent' });
    expect(streak(text)).toBe(1);
    expect(runs(text, 'consistent', 'none')).toBe(1);
    // A code the catalogue lacks is `other`, so the label stays a known set.
    text = await probe('bob', {
      verdict: 'error',
      reason: { code: 'SYNCSCOPE_E_NOT_A_CODE' as 'SYNCSCOPE_E_INTERNAL_ERROR', message: '?' }
    });
    expect(runs(text, 'error', 'other')).toBe(1);
    expect(text).not.toContain('SYNCSCOPE_E_NOT_A_CODE');
    expect(streak(text)).toBe(1);
    expect(text).not.toMatch(/ann|bob/);
    expect(execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
  });

  it('answers 429 when the probe limit is reached', async () => {
    const slow = post({ target: 'staging', user: 'slow' });
    while (!release) await new Promise((r) => setTimeout(r, 10));
    const busy = await post({ target: 'staging', user: 'u' });
    expect(busy.status).toBe(429);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('SYNCSCOPE_E_PROBE_BUSY');
    release();
    expect((await slow).status).toBe(200);
  });
});
