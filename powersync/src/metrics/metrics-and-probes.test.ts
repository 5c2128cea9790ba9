import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness,
  TEST_API_TOKEN
} from '../testing/dev-server-harness.ts';
import { SERVICE_METRIC_NAMES } from './server-metrics.ts';

const ref = readReference;

/** Metric names of the real service's exposition (reference/metrics.txt). */
function realServiceMetricNames(): Set<string> {
  return new Set(
    ref('metrics.txt')
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ')[2]!)
  );
}

describe('metrics, probes and the admin API', () => {
  let h: DevServerHarness;
  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'metrics',
      sourceSql: ref('seed.sql'),
      rulesYaml: ref('sync-rules.yaml')
    });
  });
  afterAll(async () => h?.close());

  it('exports only metric names the real service uses, and counts what happened', async () => {
    const real = realServiceMetricNames();
    for (const name of Object.values(SERVICE_METRIC_NAMES)) expect(real, name).toContain(name);
    await readSyncStream(h.server.url, await h.token('u-alice'), {}, (l) => 'checkpoint_complete' in l);
    const text = await h.server.metrics.registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('powersync_operations_synced_total')).toBe(12);
    // Only tables the rules read replicate: 6 memberships + 20 records + 10 categories.
    expect(value('powersync_rows_replicated_total')).toBe(36);
    expect(value('powersync_replication_lag_seconds')).toBe(0);
  });

  it('answers liveness and readiness probes', async () => {
    for (const probe of ['startup', 'liveness', 'readiness']) {
      expect((await fetch(`${h.server.url}/probes/${probe}`)).status, probe).toBe(200);
    }
  });

  it('guards the admin API and the fault switches with an api token', async () => {
    const diagnostics = (token?: string) =>
      fetch(`${h.server.url}/api/admin/v1/diagnostics`, {
        method: 'POST',
        headers: token ? { Authorization: `Bearer ${token}` } : {}
      });
    expect((await diagnostics()).status).toBe(401);
    expect((await diagnostics('wrong')).status).toBe(401);
    const ok = await diagnostics(TEST_API_TOKEN);
    expect(ok.status).toBe(200);
    const body = await ok.json();
    expect(body.data.active_sync_rules.connections[0].initial_replication_done).toBe(true);
    expect(
      body.data.active_sync_rules.connections[0].tables.map((t: { name: string }) => t.name).sort()
    ).toEqual(['categories', 'records', 'workspace_memberships']);
    expect(body.data.connections[0].postgres_uri).not.toContain('postgres:postgres');

    const setFaults = (body: unknown, token = TEST_API_TOKEN) =>
      fetch(`${h.server.url}/api/dev/v1/faults`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
      });
    expect((await setFaults({ stallReplication: true }, 'wrong')).status).toBe(401);
    const unknown = await setFaults({ explode: true });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.message).toContain('explode');
    const set = await setFaults({ corruptChecksums: ['1#by_workspace["ws-1"]'] });
    expect(set.status).toBe(200);
    expect(h.server.faults.current.corruptChecksums).toEqual(['1#by_workspace["ws-1"]']);
    await setFaults({});
  });
});
