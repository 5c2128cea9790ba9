import { type CaptureLine, readReference, readReferenceLines } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../testing/captured-log.ts';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness,
  TEST_API_TOKEN
} from '../testing/dev-server-harness.ts';

type Line = CaptureLine;

const RETIRE_DELAY_MS = 1_000;

const sorted = (buckets: Line[]) =>
  [...buckets]
    .sort((a, b) => a.bucket.localeCompare(b.bucket))
    .map(({ bucket, checksum, count, priority, subscriptions }) => ({
      bucket,
      checksum,
      count,
      priority,
      subscriptions
    }));

/** Slot names carry 4 random hex digits: compared by their version only. */
const slotPattern = (version: number) => new RegExp(`^powersync_${version}_[0-9a-f]{4}$`);
const withSlots = (body: unknown, slots: Record<string, string>) =>
  JSON.parse(JSON.stringify(body), (_key, value) => (typeof value === 'string' && slots[value]) || value);

describe('a rules redeploy as the service 1.25 does it (restart with a changed rules file)', () => {
  let h: DevServerHarness;
  const log = capturedLogger();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${h.server.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${TEST_API_TOKEN}`, 'Content-Type': 'application/json' }
    });
  const stream = async (buckets: { name: string; after: string }[], stop: (l: Line) => boolean) =>
    readSyncStream(
      h.server.url,
      await h.token('u-alice'),
      { buckets, include_checksum: true, raw_data: true, client_id: 'ref' },
      stop,
      60_000
    );

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'redeploy',
      sourceSql: readReference('seed.sql'),
      rulesYaml: readReference('sync-rules.yaml'),
      logger: log.logger,
      retireDelayMs: RETIRE_DELAY_MS
    });
  }, 180_000);
  afterAll(async () => h?.close());

  it('serves version 1 while version 2 reprocesses, switches, and serves version 2 with the golden checksums', async () => {
    const v1 = await stream([], (l) => 'checkpoint_complete' in l);
    const v1Checkpoint = v1.lines[0]!.checkpoint as Line;
    expect(sorted(v1Checkpoint.buckets)).toEqual(
      sorted(readReferenceLines('stream-after-redeploy-alice.ndjson')[0]!.checkpoint.buckets)
    );
    const v1Slot = h.server.versions.active!.slotName;
    expect(v1Slot).toMatch(slotPattern(1));
    const current = await (await api('/api/sync-rules/v1/current')).json();
    expect(current).toEqual(
      withSlots(JSON.parse(readReference('rules-current.json')), { powersync_1_0e83: v1Slot })
    );
    const positions = sorted(v1Checkpoint.buckets).map((b) => ({
      name: b.bucket,
      after: v1Checkpoint.last_op_id
    }));

    // Stalled replication holds version 2 before its first streamed checkpoint (after its snapshot), so
    // "during reprocessing" lasts until the fault is healed; version 1 resumed from its slot meanwhile.
    await h.restart({ rulesYaml: readReference('sync-rules-B.yaml'), faults: { stallReplication: true } });
    expect(log.lines.some((l) => l.msg === 'Sync config updated')).toBe(true);
    const v2Slot = h.server.versions.deploying!.slotName;
    expect(v2Slot).toMatch(slotPattern(2));
    const slots = { powersync_1_0e83: v1Slot, powersync_2_b809: v2Slot };

    // During reprocessing: version 1 keeps serving, `current` shows `next`, reprocess is busy.
    const during = await (await api('/api/sync-rules/v1/current')).json();
    expect(during).toEqual(withSlots(JSON.parse(readReference('rules-current-during-redeploy.json')), slots));
    const busy = await api('/api/sync-rules/v1/reprocess', { method: 'POST', body: '{}' });
    expect(busy.status).toBe(409);
    expect(await busy.json()).toEqual(JSON.parse(readReference('rules-reprocess-busy.json')));
    // A stream opened now is served by version 1 and ended cleanly (end of body, no last line) at the switch.
    const held = await fetch(`${h.server.url}/sync/stream`, {
      method: 'POST',
      headers: { Authorization: `Token ${await h.token('u-alice')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ buckets: positions, include_checksum: true, raw_data: true, client_id: 'ref' })
    });
    expect(held.status).toBe(200);
    const reader = held.body!.getReader();
    let text = '';
    while (!text.includes('checkpoint_complete'))
      text += new TextDecoder().decode((await reader.read()).value);
    expect(sorted(JSON.parse(text.split('\n')[0]!).checkpoint.buckets)).toEqual(sorted(v1Checkpoint.buckets));
    expect(h.server.versions.deploying?.slotName).toBe(v2Slot);
    h.server.faults.set({ stallReplication: false });
    for (;;) {
      const { done, value } = await reader.read(); // a cut-short body would throw here
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text.endsWith('\n')).toBe(true);
    expect(h.server.versions.deploying).toBeNull();
    expect(h.server.versions.active!.slotName).toBe(v2Slot);

    // A reconnect with the 1# positions: a plain checkpoint with only 2# buckets, data from 0.
    const v2 = await stream(positions, (l) => 'checkpoint_complete' in l);
    const expected = readReferenceLines('stream-after-switch-alice.ndjson');
    const checkpoint = v2.lines[0]!.checkpoint as Line;
    expect(sorted(checkpoint.buckets)).toEqual(sorted(expected[0]!.checkpoint.buckets));
    expect(v2.lines.every((l) => !('checkpoint_diff' in l))).toBe(true);
    const ops = (lines: Line[]) =>
      lines
        .filter((l) => l.data)
        .flatMap((l) =>
          l.data.data.map(
            (o: Line) =>
              `${l.data.bucket} ${l.data.after === '0'} ${o.object_type}/${o.object_id} ${o.checksum} ${o.data}`
          )
        )
        .sort();
    expect(ops(v2.lines)).toEqual(ops(expected));
    // One global op id sequence: version 2's first checkpoint follows version 1's last by its snapshot's ops.
    const { rows } = await h.source.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM categories) + (SELECT count(*) FROM workspaces) AS n'
    );
    expect(BigInt(checkpoint.last_op_id)).toBe(BigInt(v1Checkpoint.last_op_id) + BigInt(rows[0]!.n));

    const after = await (await api('/api/sync-rules/v1/current')).json();
    expect(after).toEqual(withSlots(JSON.parse(readReference('rules-current-after-redeploy.json')), slots));

    // About the retire delay after the switch: version 1's slot and storage are gone.
    await new Promise((r) => setTimeout(r, RETIRE_DELAY_MS + 1_500));
    const left = await h.source.query('SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1', [
      v1Slot
    ]);
    expect(left.rowCount).toBe(0);
    expect(log.lines.some((l) => l.msg === `Cleaning up Postgres replication slot: ${v1Slot}...`)).toBe(true);
    const storage = await h.server.versions.pool.query(
      "SELECT 1 FROM pg_namespace WHERE nspname = 'ps_dev_v1'"
    );
    expect(storage.rowCount).toBe(0);
  }, 180_000);

  it('counts version 2 snapshot rows in powersync_rows_replicated_total', async () => {
    const metrics = await h.server.metrics.registry.getSingleMetricAsString(
      'powersync_rows_replicated_total'
    );
    const { rows } = await h.source.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM categories) + (SELECT count(*) FROM workspaces)
            + (SELECT count(*) FROM workspace_memberships) AS n`
    );
    // This process resumed version 1 from its slot and snapshotted version 2 only.
    expect(metrics).toContain(`powersync_rows_replicated_total ${rows[0]!.n}`);
  });

  it('reprocess starts a new version with the same content (200 with its slot), then 409 while it runs', async () => {
    h.server.faults.set({ stallReplication: true });
    const first = await api('/api/sync-rules/v1/reprocess', { method: 'POST', body: '{}' });
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body.data.slot_name).toMatch(slotPattern(3));
    expect(Object.keys(body)).toEqual(['data']);
    const again = await api('/api/sync-rules/v1/reprocess', { method: 'POST', body: '{}' });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual(JSON.parse(readReference('rules-reprocess-busy.json')));
    h.server.faults.set({ stallReplication: false });
    await h.redeployed();
    expect(h.server.versions.active!.slotName).toBe(body.data.slot_name);
    expect(h.server.versions.active!.content).toBe(readReference('sync-rules-B.yaml'));
  }, 120_000);

  it('deploy is refused with 422 PSYNC_S4105 while rules come from the config', async () => {
    for (const init of [
      { body: JSON.stringify({ content: readReference('sync-rules-B.yaml') }) },
      { body: readReference('sync-rules-B.yaml'), headers: { 'Content-Type': 'application/yaml' } }
    ]) {
      const response = await fetch(`${h.server.url}/api/sync-rules/v1/deploy`, {
        method: 'POST',
        headers: {
          Authorization: `Token ${TEST_API_TOKEN}`,
          'Content-Type': 'application/json',
          ...init.headers
        },
        body: init.body
      });
      expect(response.status).toBe(422);
      expect(await response.json()).toEqual(JSON.parse(readReference('rules-deploy-with-config-path.json')));
    }
  });

  it('validate answers as the captures: valid with the definitions, or the rules library errors', async () => {
    const cases = [
      ['sync-rules.yaml', 'rules-validate-ok.json'],
      ['rules-draft-unknown-column.yaml', 'rules-validate-error-unknown-column.json'],
      ['rules-draft-unknown-table.yaml', 'rules-validate-error-unknown-table.json'],
      ['rules-draft-sql-syntax.yaml', 'rules-validate-error-sql-syntax.json'],
      ['rules-draft-yaml-syntax.yaml', 'rules-validate-error-yaml-syntax.json'],
      ['rules-draft-bucket-parameter.yaml', 'rules-validate-error-bucket-parameter.json']
    ];
    for (const [draft, capture] of cases) {
      const response = await api('/api/sync-rules/v1/validate', {
        method: 'POST',
        body: JSON.stringify({ content: readReference(draft!) })
      });
      expect(response.status, draft).toBe(200);
      expect(await response.text(), draft).toBe(readReference(capture!).trimEnd());
    }
  });
});
