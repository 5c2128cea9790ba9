import { describe, expect, it } from 'vitest';
import { diagnosticsResponseSchema } from '../service-admin/admin-schemas.ts';
import { readReference } from '../testing/reference.ts';
import { assessReplicationHealth, type HealthInputs } from './assess-replication-health.ts';
import type { SlotReading } from './replication-health-types.ts';
import { serviceViewOf } from './service-view.ts';

const NOW = new Date('2026-12-03T19:47:00.000Z');
const GB = 1024 ** 3;

function slot(name: string, over: Partial<SlotReading> = {}): SlotReading {
  return {
    slot: name,
    active: true,
    walStatus: 'reserved',
    safeWalSizeBytes: null,
    restartLsn: '0/1000000',
    confirmedFlushLsn: '0/1000000',
    retainedWalBytes: 1024,
    confirmedFlushLagBytes: 0,
    inactiveSince: null,
    ...over
  };
}

const serviceOf = (capture: string) =>
  serviceViewOf(diagnosticsResponseSchema.parse(JSON.parse(readReference(capture))).data);

function assess(over: Partial<HealthInputs>) {
  return assessReplicationHealth({
    target: 'prod',
    observedAt: NOW,
    slots: [],
    service: null,
    walBudgetBytes: null,
    inactiveGraceSeconds: 600,
    ...over
  });
}

describe('assessReplicationHealth', () => {
  it.each([
    ['reserved', []],
    [
      'extended',
      [
        "warning: slot powersync_1_4c2e: wal_status is 'extended': it retains more than max_wal_size; its WAL is kept, but only by max_slot_wal_keep_size"
      ]
    ],
    [
      'unreserved',
      [
        "critical: slot powersync_1_4c2e: wal_status is 'unreserved': its WAL will be removed at the next checkpoint unless the consumer catches up"
      ]
    ],
    [
      'lost',
      [
        "critical: slot powersync_1_4c2e: wal_status is 'lost': WAL it needs is gone; the service cannot resume from it and must replicate again from a new slot"
      ]
    ]
  ] as const)('wal_status %s', (walStatus, expected) => {
    const health = assess({
      slots: [slot('powersync_1_4c2e', { walStatus })],
      service: serviceOf('admin-diagnostics.json')
    });
    expect(health.findings.map((f) => `${f.severity}: ${f.message}`)).toEqual(expected);
    expect(health.lastCheckpointAgeSeconds).toBeCloseTo(
      (NOW.getTime() - Date.parse('2026-11-25T07:36:23.461Z')) / 1000
    );
  });

  it('a redeploy (capture 4): both slots in use, the deploying version named, nothing left behind', () => {
    const health = assess({
      slots: [slot('powersync_1_0e83'), slot('powersync_2_b809')],
      service: serviceOf('redeploy-diagnostics-4.json')
    });
    expect(health.slots.map((s) => s.role)).toEqual(['active', 'deploying']);
    expect(health.findings.map((f) => f.message)).toEqual([
      'rules version 2 is being deployed: the service is reprocessing (initial replication running)'
    ]);
  });

  it('after the switch (capture 7) the version 1 slot, until the service drops it, is left behind', () => {
    const health = assess({
      slots: [
        slot('powersync_1_0e83', { active: false, retainedWalBytes: 2.1 * GB }),
        slot('powersync_2_b809')
      ],
      service: serviceOf('redeploy-diagnostics-7.json'),
      walBudgetBytes: GB
    });
    expect(health.findings.map((f) => `${f.severity}: ${f.message}`)).toEqual([
      "warning: slot powersync_1_0e83 is inactive and retains 2.1 GB: left behind by rules version 1 (the service uses powersync_2_b809, version 2). Postgres keeps its WAL until it is dropped: SELECT pg_drop_replication_slot('powersync_1_0e83')",
      'critical: retained WAL 2.1 GB is over the budget of 1.0 GB (powersync_1_0e83 2.1 GB, powersync_2_b809 1.0 kB)'
    ]);
    expect(health.retainedWalBytes).toBe(2.1 * GB + 1024);
  });

  it("the active rules' slot missing from Postgres, or not in use", () => {
    expect(
      assess({ slots: [], service: serviceOf('admin-diagnostics.json') }).findings.map((f) => f.message)
    ).toEqual([
      "the active rules' slot powersync_1_4c2e does not exist in the source database: the service cannot replicate until it creates it again"
    ]);
    expect(
      assess({
        slots: [slot('powersync_1_4c2e', { active: false, inactiveSince: '2026-12-03T19:46:00.000Z' })],
        service: serviceOf('admin-diagnostics.json')
      }).findings.map((f) => f.kind)
    ).toEqual(['slot-inactive']);
  });

  it('without the admin API an inactive slot is left behind once the grace period is over', () => {
    const idle = (minutes: number) =>
      slot('powersync_3_aa11', {
        active: false,
        inactiveSince: new Date(NOW.getTime() - minutes * 60_000).toISOString()
      });
    expect(assess({ slots: [idle(9)] }).slots[0]!.role).toBe('unknown');
    const late = assess({ slots: [idle(11)] });
    expect(late.slots[0]!.role).toBe('abandoned');
    expect(late.findings[0]!.message).toMatch(
      /^slot powersync_3_aa11 is inactive and retains 1\.0 kB: left behind: inactive for 11 min, from rules version 3\./
    );
  });
});
