import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpsRole } from '../ops-db/ops-role-names.ts';
import { setupOpsDatabase } from '../ops-db/ops-roles.ts';
import { createTestDatabase } from '../testing/test-database.ts';
import { assessReplicationHealth } from './assess-replication-health.ts';
import { latestReplicationHealth, storeReplicationHealth } from './replication-health-store.ts';

const passwords: Record<OpsRole, string> = { owner: 'o-pw', console: 'c-pw', agent: 'a-pw' };

const reading = (target: string, at: string, retained: number) =>
  assessReplicationHealth({
    target,
    observedAt: new Date(at),
    slots: [
      {
        slot: 'powersync_1_0e83',
        active: false,
        walStatus: 'reserved',
        safeWalSizeBytes: null,
        restartLsn: '0/1',
        confirmedFlushLsn: '0/1',
        retainedWalBytes: retained,
        confirmedFlushLagBytes: retained,
        inactiveSince: '2026-12-03T00:00:00.000Z'
      }
    ],
    service: null,
    walBudgetBytes: null,
    inactiveGraceSeconds: 600
  });

describe('the latest replication health in the ops database', () => {
  let agent: pg.Pool;
  let consoleDb: pg.Pool;
  beforeAll(async () => {
    const superuserUrl = await createTestDatabase('replication_health_store');
    const { urls } = await setupOpsDatabase({ superuserUrl, passwords });
    agent = new pg.Pool({ connectionString: urls.agent, max: 1 });
    consoleDb = new pg.Pool({ connectionString: urls.console, max: 1 });
  });
  afterAll(async () => {
    await agent?.end();
    await consoleDb?.end();
  });

  it('the agent role stores the newest reading per target; an older one does not replace it', async () => {
    await storeReplicationHealth(agent, reading('prod', '2026-12-03T10:00:00Z', 100), 'agent-a');
    await storeReplicationHealth(agent, reading('prod', '2026-12-03T10:00:30Z', 300), 'agent-b');
    await storeReplicationHealth(agent, reading('prod', '2026-12-03T10:00:10Z', 200), 'agent-a');
    await storeReplicationHealth(agent, reading('staging', '2026-12-03T10:00:00Z', 5), 'agent-a');
    const latest = await latestReplicationHealth(consoleDb, ['prod']);
    expect(latest.map((h) => [h.target, h.agent, h.retainedWalBytes, h.findings[0]?.kind])).toEqual([
      ['prod', 'agent-b', 300, 'slot-abandoned']
    ]);
    expect((await latestReplicationHealth(consoleDb, null)).map((h) => h.target)).toEqual([
      'prod',
      'staging'
    ]);
  });

  it('the console role only reads it; the agent role cannot delete or empty it', async () => {
    await expect(
      storeReplicationHealth(consoleDb, reading('prod', '2026-12-04T00:00:00Z', 1), 'console')
    ).rejects.toThrow(/permission denied/);
    await expect(consoleDb.query('DELETE FROM syncscope.replication_health')).rejects.toThrow(
      /permission denied/
    );
    await expect(agent.query('DELETE FROM syncscope.replication_health')).rejects.toThrow(
      /permission denied/
    );
    await expect(agent.query('TRUNCATE syncscope.replication_health')).rejects.toThrow(/permission denied/);
  });
});
