import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  startDevServerHarness,
  TEST_API_TOKEN
} from '../testing/dev-server-harness.ts';

describe('POST /api/dev/v1/sync-rules/reload: a redeploy from the rules file without a restart', () => {
  let h: DevServerHarness;
  let dir: string;
  let file: string;
  const reload = () =>
    fetch(`${h.server.url}/api/dev/v1/sync-rules/reload`, {
      method: 'POST',
      headers: { Authorization: `Token ${TEST_API_TOKEN}` }
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'syncscope-rules-'));
    file = path.join(dir, 'sync_rules.yaml');
    await writeFile(file, readReference('sync-rules.yaml'));
    h = await startDevServerHarness({
      name: 'reload',
      sourceSql: readReference('seed.sql'),
      rulesYaml: readReference('sync-rules.yaml'),
      rulesFile: file,
      retireDelayMs: 200
    });
  });
  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('deploys a changed file as the next version, answers 409 while it reprocesses, null when unchanged', async () => {
    const unauthenticated = await fetch(`${h.server.url}/api/dev/v1/sync-rules/reload`, { method: 'POST' });
    expect(unauthenticated.status).toBe(401);
    expect(await (await reload()).json()).toEqual({ data: { slot_name: null } });
    // Stalled replication holds version 2 before its first streamed checkpoint, so it stays in reprocessing.
    h.server.faults.set({ stallReplication: true });
    await writeFile(file, readReference('sync-rules-B.yaml'));
    const first = await reload();
    expect(first.status).toBe(200);
    const { data } = await first.json();
    expect(data.slot_name).toMatch(/^powersync_2_[0-9a-f]{4}$/);
    // Unchanged against the version being deployed: nothing to do.
    expect(await (await reload()).json()).toEqual({ data: { slot_name: null } });
    await writeFile(file, readReference('sync-rules-C.yaml'));
    const busy = await reload();
    expect(busy.status).toBe(409);
    expect(await busy.json()).toEqual(JSON.parse(readReference('rules-reprocess-busy.json')));
    expect(h.server.versions.deploying?.slotName).toBe(data.slot_name);
    h.server.faults.set({ stallReplication: false });
    await h.redeployed();
    expect(h.server.versions.active!.slotName).toBe(data.slot_name);
  });
});
