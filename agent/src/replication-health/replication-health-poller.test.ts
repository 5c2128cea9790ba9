import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@syncscope/core';
import { migrateOpsDatabase, OpsDatabase } from '@syncscope/core/ops-db/ops-database';
import { targetsSource } from '@syncscope/core/probe/targets/resolve-target';
import { latestReplicationHealth } from '@syncscope/core/replication-health/replication-health-store';
import { createTestDatabase, execSql } from '@syncscope/core/testing/test-database';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretScrubber } from '../output/secret-scrubber.ts';
import { startReplicationHealthPoller } from './replication-health-poller.ts';

const SLOT = 'powersync_1_0e83';
let sourceUrl: string;
let ops: OpsDatabase;
let targetsFile: string;

beforeAll(async () => {
  sourceUrl = await createTestDatabase('replication_health_agent');
  const opsUrl = await createTestDatabase('replication_health_agent_ops');
  await migrateOpsDatabase(opsUrl);
  ops = new OpsDatabase(opsUrl);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-replication-health-'));
  await writeFile(
    path.join(dir, 'rules.yaml'),
    'bucket_definitions:\n  all:\n    data:\n      - SELECT * FROM lists\n'
  );
  targetsFile = path.join(dir, 'targets.yaml');
  await writeFile(
    targetsFile,
    [
      'targets:',
      '  watched:',
      '    sync_url: http://127.0.0.1:1',
      '    source_url: !env WATCHED_SOURCE_URL',
      '    sync_rules: { path: rules.yaml }',
      '    signing_key: { kid: k, hs256_secret: !env WATCHED_SECRET }',
      '    audience: syncscope-probe',
      '    replication_health: { every_seconds: 3600, wal_budget_bytes: 1000, inactive_grace_seconds: 0 }',
      ''
    ].join('\n')
  );
  await execSql(sourceUrl, `SELECT pg_create_logical_replication_slot('${SLOT}', 'pgoutput')`);
  // Transactional, so its commit flushes it: a non-transactional message may wait in the WAL buffers
  // past the poll (the write position, and so the retained bytes, would not include it yet).
  await execSql(sourceUrl, "SELECT pg_logical_emit_message(true, 'syncscope-test', repeat('x', 50000))");
});

afterAll(async () => {
  await ops?.close();
  await execSql(
    sourceUrl,
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()'
  ).catch(() => {});
});

const series = (text: string) =>
  text.split('\n').filter((l) => l.startsWith('syncscope_replication') && l.includes('target="watched"'));

describe("the agent's replication health", () => {
  it('exports each slot of a target, stores the reading, and drops a slot’s series when the slot is gone', async () => {
    const registry = new Registry();
    const poller = await startReplicationHealthPoller({
      targets: targetsSource(targetsFile, {
        WATCHED_SOURCE_URL: sourceUrl,
        WATCHED_SECRET: Buffer.alloc(32, 7).toString('base64url')
      }),
      logger: createLogger('replication-health-test', 'silent'),
      scrubber: new SecretScrubber(),
      registry,
      ops,
      agentName: 'agent-9'
    });
    try {
      await poller.pollNow();
      const before = series(await registry.metrics());
      const value = (prefix: string) =>
        Number(
          before
            .find((l) => l.startsWith(prefix))
            ?.split(' ')
            .pop()
        );
      expect(value(`syncscope_replication_slot_active{target="watched",slot="${SLOT}"}`)).toBe(0);
      expect(
        value(`syncscope_replication_slot_retained_wal_bytes{target="watched",slot="${SLOT}"}`)
      ).toBeGreaterThan(10_000);
      expect(
        value(`syncscope_replication_slot_confirmed_flush_lag_bytes{target="watched",slot="${SLOT}"}`)
      ).toBeGreaterThan(10_000);
      expect(before).toContain(
        `syncscope_replication_slot_wal_status{target="watched",slot="${SLOT}",wal_status="reserved"} 1`
      );
      expect(before).toContain(
        `syncscope_replication_slot_wal_status{target="watched",slot="${SLOT}",wal_status="lost"} 0`
      );
      expect(before).toContain('syncscope_replication_slots_abandoned{target="watched"} 1');
      expect(before).toContain('syncscope_replication_wal_budget_bytes{target="watched"} 1000');
      // promtool lints names, units and help (installed with the test dependencies).
      expect(
        execFileSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' })
      ).toBe('');
      // unlimited max_slot_wal_keep_size: no safe size; no admin API: no lag or checkpoint age
      expect(before.filter((l) => /safe_wal_size|replication_lag_bytes|checkpoint_age/.test(l))).toEqual([]);

      const [stored] = await latestReplicationHealth(ops.pool, ['watched']);
      expect(stored?.agent).toBe('agent-9');
      expect(stored?.findings.map((f) => f.kind)).toEqual(['slot-abandoned', 'wal-over-budget']);

      await execSql(sourceUrl, `SELECT pg_drop_replication_slot('${SLOT}')`);
      await poller.pollNow();
      const after = series(await registry.metrics());
      expect(after.filter((l) => l.includes(SLOT))).toEqual([]);
      expect(after).toContain('syncscope_replication_slots_abandoned{target="watched"} 0');
      expect((await latestReplicationHealth(ops.pool, ['watched']))[0]?.slots).toEqual([]);
    } finally {
      await poller.stop();
    }
  });

  it('a source it cannot read gives no slot series and no abandoned count (not a reassuring 0)', async () => {
    const registry = new Registry();
    const poller = await startReplicationHealthPoller({
      targets: targetsSource(targetsFile, {
        WATCHED_SOURCE_URL: 'postgres://nobody@127.0.0.1:1/app',
        WATCHED_SECRET: Buffer.alloc(32, 7).toString('base64url')
      }),
      logger: createLogger('replication-health-test', 'silent'),
      scrubber: new SecretScrubber(),
      registry
    });
    try {
      await poller.pollNow();
      expect(series(await registry.metrics())).toEqual([
        'syncscope_replication_wal_budget_bytes{target="watched"} 1000'
      ]);
    } finally {
      await poller.stop();
    }
  });
});
