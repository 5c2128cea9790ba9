import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { latestBudgetReading } from '@syncscope/core/rules-insight/budgets/budget-history';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { startRulesCoveragePoller } from './rules-coverage-poller.ts';

let dir: string;
let sourceUrl: string;

beforeAll(async () => {
  sourceUrl = await createTestDatabase('rules_coverage_agent');
  await execSql(
    sourceUrl,
    `CREATE TABLE users (id text PRIMARY KEY);
     CREATE TABLE memberships (id text PRIMARY KEY, user_id text NOT NULL, workspace_id text NOT NULL);
     CREATE TABLE records (id text PRIMARY KEY, workspace_id text NOT NULL);
     CREATE PUBLICATION powersync FOR ALL TABLES;
     INSERT INTO users VALUES ('u1'), ('u2');
     INSERT INTO memberships VALUES ('m1', 'u1', 'ws-1');
     INSERT INTO records VALUES ('r1', 'ws-1'), ('r2', 'ws-2'), ('r3', 'ws-2');`
  );
  dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-rules-coverage-agent-'));
  await writeFile(
    path.join(dir, 'rules.yaml'),
    `bucket_definitions:
  by_workspace:
    parameters: SELECT workspace_id FROM memberships WHERE user_id = request.user_id()
    data:
      - SELECT * FROM records WHERE workspace_id = bucket.workspace_id
`
  );
  await writeFile(
    path.join(dir, 'targets.yaml'),
    `targets:
  watched:
    sync_url: http://127.0.0.1:1
    source_url: !env WATCHED_SOURCE_URL
    sync_rules: { path: rules.yaml }
    signing_key: { kid: k, hs256_secret: !env WATCHED_SECRET }
    audience: syncscope-probe
    user_search: { table: users, id_column: id }
    rules_insight: { every_seconds: 3600, bucket_limit: 2, bucket_thresholds: [1] }
`
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const series = async (registry: Registry) =>
  (await registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith('syncscope_rules_') && !l.includes('timestamp'));

describe('the agent exports rows in no bucket per table', () => {
  it('counts them every rules_insight.every_seconds and follows a change in the source', async () => {
    const registry = new Registry();
    const poller = await startRulesCoveragePoller({
      targets: targetsSource(path.join(dir, 'targets.yaml'), {
        WATCHED_SOURCE_URL: sourceUrl,
        WATCHED_SECRET: 'x'.repeat(64)
      }),
      logger: createLogger('test', 'silent'),
      scrubber: new SecretScrubber(),
      registry
    });
    try {
      await poller.pollNow();
      expect(await series(registry)).toEqual([
        'syncscope_rules_uncovered_rows{target="watched",table="public.records"} 2',
        'syncscope_rules_users_without_buckets{target="watched"} 1',
        'syncscope_rules_coverage_interval_seconds{target="watched"} 3600'
      ]);
      await execSql(sourceUrl, "INSERT INTO memberships VALUES ('m2', 'u2', 'ws-2')");
      await poller.pollNow();
      expect(await series(registry)).toEqual([
        'syncscope_rules_uncovered_rows{target="watched",table="public.records"} 0',
        'syncscope_rules_users_without_buckets{target="watched"} 0',
        'syncscope_rules_coverage_interval_seconds{target="watched"} 3600'
      ]);
      // Names and types as Prometheus's linter wants them (no `_bucket` suffix on a gauge, units).
      expect(
        execFileSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' })
      ).toBe('');
      expect(await registry.metrics()).toMatch(
        /syncscope_rules_coverage_last_success_timestamp_seconds\{target="watched"\} \d+/
      );
    } finally {
      await poller.stop();
    }
  });
});

describe('the agent exports users over each bucket threshold and stores the budgets', () => {
  it('sets syncscope_users_over_bucket_threshold per threshold and stores each reading with its growth', async () => {
    const opsUrl = await createTestDatabase('rules_budgets_agent_ops');
    await migrateOpsDatabase(opsUrl);
    const ops = new OpsDatabase(opsUrl);
    const registry = new Registry();
    const poller = await startRulesCoveragePoller({
      targets: targetsSource(path.join(dir, 'targets.yaml'), {
        WATCHED_SOURCE_URL: sourceUrl,
        WATCHED_SECRET: 'x'.repeat(64)
      }),
      logger: createLogger('test', 'silent'),
      scrubber: new SecretScrubber(),
      registry,
      ops,
      agentName: 'agent-1'
    });
    const over = async () =>
      (await registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('syncscope_users_over_bucket_threshold'));
    try {
      // u1 holds ws-1 and u2 ws-2 (the test above): 1 bucket each, over neither 1 nor the limit 2.
      await execSql(sourceUrl, "INSERT INTO memberships VALUES ('m3', 'u1', 'ws-2')");
      await poller.pollNow();
      expect(await over()).toEqual([
        'syncscope_users_over_bucket_threshold{target="watched",threshold="1"} 1',
        'syncscope_users_over_bucket_threshold{target="watched",threshold="2"} 0'
      ]);
      await execSql(sourceUrl, "INSERT INTO memberships VALUES ('m4', 'u1', 'ws-3')");
      await poller.pollNow();
      expect(await over()).toEqual([
        'syncscope_users_over_bucket_threshold{target="watched",threshold="1"} 1',
        'syncscope_users_over_bucket_threshold{target="watched",threshold="2"} 1'
      ]);
      const reading = await latestBudgetReading(ops.pool, 'watched');
      expect(reading?.report.listed.map((u) => [u.user, u.buckets])).toEqual([['u1', 3]]);
      expect(reading?.trends).toEqual([
        { user: 'u1', previous: 2, growth: 1, forecast: { kind: 'over-limit' } }
      ]);
      const { rows } = await ops.pool.query('SELECT agent FROM syncscope.bucket_budget_runs');
      expect(rows).toEqual([{ agent: 'agent-1' }, { agent: 'agent-1' }]);
    } finally {
      await poller.stop();
      await ops.close();
    }
  });
});
