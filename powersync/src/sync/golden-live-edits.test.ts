import { type CaptureLine, readReference, readReferenceLines } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

type Line = CaptureLine;
const ref = readReference;

const COLUMNS: Record<string, string[]> = {
  records: ['id', 'workspace_id', 'title', 'amount', 'category_id', 'created_at'],
  categories: ['id', 'workspace_id', 'name', 'usage_count']
};

/** Every row as the real service last sent it, across the captures in the order they were taken. */
function finalRowsOfCapture(): Map<string, { data: string; checksum: number }> {
  const files = [
    'stream-initial-alice.ndjson',
    'stream-membership-alice.ndjson',
    'stream-live-edits-alice.ndjson',
    'stream-after-compact-alice.ndjson'
  ];
  const rows = new Map<string, { data: string; checksum: number }>();
  for (const file of files) {
    for (const line of readReferenceLines(file)) {
      for (const op of line.data?.data ?? []) {
        if (op.op === 'PUT')
          rows.set(`${op.object_type}/${op.object_id}`, { data: op.data, checksum: op.checksum });
      }
    }
  }
  return rows;
}

describe('value conversion against the live-edit capture (numeric, NULLs, text escapes, timestamptz, int4)', () => {
  let h: DevServerHarness;
  const captured = finalRowsOfCapture();

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'golden_live',
      sourceSql: ref('seed.sql'),
      rulesYaml: ref('sync-rules.yaml')
    });
    // Write each captured row's values into Postgres as text, letting Postgres parse them into its own types.
    for (const [key, { data }] of captured) {
      const [table] = key.split('/') as [string];
      const row = JSON.parse(data) as Record<string, unknown>;
      const cols = COLUMNS[table]!;
      const values = cols.map((c) => (row[c] === null ? null : String(row[c])));
      const placeholders = cols.map((_, i) => `$${i + 1}`).join(', ');
      const updates = cols
        .slice(1)
        .map((c) => `${c} = excluded.${c}`)
        .join(', ');
      await h.source.query(
        `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${placeholders}) ON CONFLICT (id) DO UPDATE SET ${updates}`,
        values
      );
    }
  });
  afterAll(async () => h?.close());

  it('produces the same row JSON and PUT checksum as the real service for every edited row', async () => {
    await h.caughtUp();
    const { lines } = await readSyncStream(
      h.server.url,
      await h.token('u-alice'),
      { buckets: [] },
      (l) => 'checkpoint_complete' in l
    );
    const ours = new Map<string, { data: string; checksum: number }>();
    for (const line of lines as Line[]) {
      for (const op of line.data?.data ?? []) {
        if (op.op === 'PUT')
          ours.set(`${op.object_type}/${op.object_id}`, { data: op.data, checksum: op.checksum });
      }
    }
    expect(captured.size).toBeGreaterThanOrEqual(20);
    const alices = [...captured].filter(([, v]) =>
      ['ws-1', 'ws-2'].includes(JSON.parse(v.data).workspace_id)
    );
    expect(alices.length).toBeGreaterThanOrEqual(14);
    for (const [key, expected] of alices) {
      expect({ key, ...ours.get(key) }).toEqual({ key, ...expected });
    }
  });
});
