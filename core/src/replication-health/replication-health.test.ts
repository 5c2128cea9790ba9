import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySourceRole } from '../source-access/apply-source-role.ts';
import { sourceAccessOf } from '../source-access/source-access.ts';
import { loadSyncRules } from '../sync-rules/load-sync-rules.ts';
import { readReference } from '../testing/reference.ts';
import { createTestDatabase, execSql } from '../testing/test-database.ts';
import { ReplicationHealthReader } from './read-replication-health.ts';
import { readServiceSlots } from './read-slots.ts';

const OLD = 'powersync_1_0e83';
const CURRENT = 'powersync_2_b809';
const ROLE = 'syncscope_health_reader';
const ADMIN_TOKEN = 'health-admin-token-0123456789';

function asRole(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
}

/** A replication connection streaming from the slot, so Postgres shows it active (as the service's is). */
async function holdSlot(url: string, slot: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, replication: 'database' } as pg.ClientConfig);
  client.on('error', () => {});
  await client.connect();
  client.query(`START_REPLICATION SLOT ${slot} LOGICAL 0/0`).catch(() => {});
  for (let i = 0; i < 100; i++) {
    const { rows } = await execSql(url, 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', [
      slot
    ]);
    if (rows[0]?.active) return client;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`slot ${slot} did not become active`);
}

/** The service's admin API answering a diagnostics capture. */
async function adminApi(capture: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const ok = req.headers.authorization === `Bearer ${ADMIN_TOKEN}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(ok ? readReference(capture) : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('replication health from the source Postgres and the admin API', () => {
  let url: string;
  let roleUrl: string;
  let holder: pg.Client;
  let admin: { url: string; server: Server };

  beforeAll(async () => {
    url = await createTestDatabase('replication_health');
    await execSql(url, readReference('seed.sql'));
    await execSql(
      url,
      `SELECT pg_create_logical_replication_slot('${OLD}', 'pgoutput'),
              pg_create_logical_replication_slot('${CURRENT}', 'test_decoding'),
              pg_create_logical_replication_slot('other_tool_slot', 'test_decoding')`
    );
    // WAL written after the slots were made: the old slot's consumer never confirms it, so it is retained.
    await execSql(url, "SELECT pg_logical_emit_message(true, 'syncscope-test', repeat('x', 200000))");
    holder = await holdSlot(url, CURRENT);
    await execSql(url, `DROP ROLE IF EXISTS ${ROLE}`);
    const rules = loadSyncRules(readReference('sync-rules.yaml'));
    await applySourceRole(url, { role: ROLE, password: 'pw-health', access: sourceAccessOf(rules) });
    roleUrl = asRole(url, ROLE, 'pw-health');
    admin = await adminApi('redeploy-diagnostics-7.json');
  });

  afterAll(async () => {
    await holder?.end().catch(() => {});
    await new Promise<void>((r) => (admin ? admin.server.close(() => r()) : r()));
    await execSql(
      url,
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active`
    );
  });

  it("reads the service's slots with the WAL each retains and its flush lag; other tools' slots are not listed", async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const slots = await readServiceSlots(client).finally(() => client.end());
    expect(slots.map((s) => s.slot)).toEqual([OLD, CURRENT]);
    const old = slots.find((s) => s.slot === OLD)!;
    expect(old).toMatchObject({ active: false, walStatus: 'reserved', safeWalSizeBytes: null });
    expect(old.retainedWalBytes).toBeGreaterThan(200_000);
    expect(old.confirmedFlushLagBytes).toBeGreaterThan(200_000);
    expect(Date.parse(old.inactiveSince!)).toBeLessThanOrEqual(Date.now());
    expect(slots.find((s) => s.slot === CURRENT)).toMatchObject({ active: true, inactiveSince: null });
  });

  it('the least-privilege source role reads them with no grant beyond its table SELECTs, and can do nothing to a slot', async () => {
    const client = new pg.Client({ connectionString: roleUrl });
    await client.connect();
    try {
      const slots = await readServiceSlots(client);
      expect(slots.find((s) => s.slot === OLD)!.retainedWalBytes).toBeGreaterThan(200_000);
      const { rows } = await client.query(
        `SELECT r.rolreplication, r.rolsuper, array(SELECT b.rolname::text FROM pg_auth_members m
           JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) AS member_of
         FROM pg_roles r WHERE r.rolname = current_user`
      );
      expect(rows[0]).toEqual({ rolreplication: false, rolsuper: false, member_of: [] });
      await expect(client.query(`SELECT pg_drop_replication_slot('${OLD}')`)).rejects.toThrow(
        /permission denied|must be superuser or replication role/
      );
      await expect(
        client.query(`SELECT * FROM pg_logical_slot_peek_changes('${OLD}', NULL, 1)`)
      ).rejects.toThrow(/permission denied|must be superuser or replication role/);
    } finally {
      await client.end();
    }
  });

  it('with the admin API naming the current slot, the old one is left behind by rules version 1; over the budget', async () => {
    const health = await new ReplicationHealthReader().read({
      name: 'prod',
      sourceUrl: roleUrl,
      adminUrl: admin.url,
      adminToken: ADMIN_TOKEN,
      replicationHealth: { walBudgetBytes: 100_000 }
    });
    expect(health.slots.map((s) => [s.slot, s.role])).toEqual([
      [OLD, 'abandoned'],
      [CURRENT, 'active']
    ]);
    expect(health.service?.active).toMatchObject({ slot: CURRENT, replicationLagBytes: 220467672 });
    expect(health.lastCheckpointAgeSeconds).toBeGreaterThan(0);
    const messages = health.findings.map((f) => f.message);
    expect(messages[0]).toMatch(
      new RegExp(
        `^slot ${OLD} is inactive and retains \\d+\\.\\d kB: left behind by rules version 1 \\(the service uses ${CURRENT}, version 2\\)\\. Postgres keeps its WAL until it is dropped: SELECT pg_drop_replication_slot\\('${OLD}'\\)$`
      )
    );
    expect(health.findings.map((f) => f.kind)).toEqual(['slot-abandoned', 'wal-over-budget']);
    expect(messages[1]).toMatch(
      /^retained WAL \d+\.\d kB is over the budget of 97\.7 kB \(powersync_1_0e83 /
    );
  });

  it('without an admin API an inactive slot is left behind only after the grace period', async () => {
    const reader = new ReplicationHealthReader();
    const target = { name: 'bare', sourceUrl: roleUrl };
    const early = await reader.read({ ...target, replicationHealth: { inactiveGraceSeconds: 3600 } });
    expect(early.slots.map((s) => s.role)).toEqual(['unknown', 'unknown']);
    expect(early.findings).toEqual([]);
    const late = await reader.read({ ...target, replicationHealth: { inactiveGraceSeconds: 0 } });
    expect(late.slots.map((s) => s.role)).toEqual(['abandoned', 'unknown']);
    expect(late.findings[0]!.message).toMatch(
      /^slot powersync_1_0e83 is inactive and retains .*: left behind: inactive for 0 min, from rules version 1\./
    );
  });

  it('an unreachable source or admin API is a finding, not a throw', async () => {
    const health = await new ReplicationHealthReader().read({
      name: 'down',
      sourceUrl: 'postgres://nobody@127.0.0.1:1/app',
      adminUrl: 'http://127.0.0.1:1',
      adminToken: ADMIN_TOKEN
    });
    expect(health.findings.map((f) => f.kind)).toEqual(['source-unreadable', 'admin-unreadable']);
    expect(health.findings[0]!.message).toMatch(
      /^cannot read the replication slots of postgres:\/\/nobody@127\.0\.0\.1:1\/app: /
    );
    expect(JSON.stringify(health)).not.toContain(ADMIN_TOKEN);
  });
});
