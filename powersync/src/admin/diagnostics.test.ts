import { readReference } from '@syncscope/core/testing/reference';
import { describe, expect, it } from 'vitest';
import type { ReplicationProgress } from '../replication/replicator.ts';
import type { ReplicatedTable } from '../replication/source-schema.ts';
import { makeSourceTable } from '../storage/source-table.ts';
import { serviceLsn, versionConnection } from './diagnostics.ts';

type Connection = Record<string, unknown> & { tables: Record<string, unknown>[] };

const T = new Date('2026-12-03T19:45:36.782Z');
/** A version's stages as the service shows them (README, "Diagnostics during reprocessing"). */
const STAGES: Record<string, { progress: ReplicationProgress; slot: boolean }> = {
  'no slot yet': {
    slot: false,
    progress: {
      slotCreated: false,
      lastKeepaliveAt: null,
      lastCheckpointAt: null,
      initialReplicationDone: false
    }
  },
  'slot created': {
    slot: true,
    progress: {
      slotCreated: true,
      lastKeepaliveAt: null,
      lastCheckpointAt: null,
      initialReplicationDone: false
    }
  },
  'snapshot running': {
    slot: true,
    progress: { slotCreated: true, lastKeepaliveAt: T, lastCheckpointAt: null, initialReplicationDone: false }
  },
  'snapshot stored': {
    slot: true,
    progress: { slotCreated: true, lastKeepaliveAt: T, lastCheckpointAt: T, initialReplicationDone: false }
  },
  'initial replication done': {
    slot: true,
    progress: { slotCreated: true, lastKeepaliveAt: T, lastCheckpointAt: T, initialReplicationDone: true }
  }
};

/** Capture → [active stage, deploying stage or null]. */
const CAPTURES: [number, string, string | null][] = [
  [1, 'initial replication done', null],
  [2, 'initial replication done', 'no slot yet'],
  [3, 'initial replication done', 'slot created'],
  [4, 'initial replication done', 'snapshot running'],
  [5, 'initial replication done', 'snapshot stored'],
  [6, 'initial replication done', 'initial replication done'],
  [7, 'initial replication done', null]
];

function tablesOf(connection: Connection): ReplicatedTable[] {
  return connection.tables.map((t) => ({
    table: makeSourceTable(t.schema as string, t.name as string, t.replication_id as string[], {
      syncsData: t.data_queries as boolean,
      syncsParameters: t.parameter_queries as boolean
    }),
    oid: 0,
    columns: [],
    published: true
  }));
}

/** Values that change on every poll are compared by presence only. */
const normalized = (c: Connection) =>
  Object.fromEntries(
    Object.entries(c).map(([k, v]) => [k, /_ts$|^last_lsn$|^replication_lag_bytes$/.test(k) ? typeof v : v])
  );

describe('diagnostics connection shape per version stage (redeploy-diagnostics-1..7.json)', () => {
  it.each(CAPTURES)('capture %i', (n, activeStage, deployingStage) => {
    const captured = JSON.parse(readReference(`redeploy-diagnostics-${n}.json`)).data;
    expect(Object.keys(captured)).toEqual(
      deployingStage
        ? ['connections', 'active_sync_rules', 'deploying_sync_rules']
        : ['connections', 'active_sync_rules']
    );
    const pairs: [string, string][] = [['active_sync_rules', activeStage]];
    if (deployingStage) pairs.push(['deploying_sync_rules', deployingStage]);
    for (const [key, stage] of pairs) {
      const expected = captured[key].connections[0] as Connection;
      const { progress, slot } = STAGES[stage]!;
      const actual = versionConnection({
        tag: 'default',
        slotName: expected.slot_name as string,
        progress,
        lsn: '0/50CFE390',
        slot: slot ? { lagBytes: 2160, walStatus: 'reserved' } : null,
        tables: tablesOf(expected)
      });
      expect(Object.keys(actual), `${n} ${key}`).toEqual(Object.keys(expected));
      expect(normalized(actual as Connection), `${n} ${key}`).toEqual(normalized(expected));
    }
  });

  it('prints LSNs as the service does', () => {
    expect(serviceLsn('0/50CFE390')).toBe('00000000/50CFE390');
    expect(serviceLsn('1A/5')).toBe('0000001A/00000005');
  });
});
