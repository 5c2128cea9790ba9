import { type CaptureLine, readReference, readReferenceLines } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

type Line = CaptureLine;

const ref = readReference;

/** What must match the real service: bucket names, checksums, counts, and each op's row JSON and checksum. */
function comparable(lines: Line[]) {
  const checkpoint = lines.find((l) => l.checkpoint)!.checkpoint;
  const buckets = [...checkpoint.buckets]
    .sort((a: Line, b: Line) => a.bucket.localeCompare(b.bucket))
    .map((b: Line) => ({
      bucket: b.bucket,
      checksum: b.checksum,
      count: b.count,
      priority: b.priority,
      subscriptions: b.subscriptions
    }));
  const ops = lines
    .filter((l) => l.data)
    .flatMap((l) => l.data.data.map((op: Line) => ({ bucket: l.data.bucket, ...op })))
    .map(({ bucket, op, object_type, object_id, data, checksum }: Line) => ({
      bucket,
      op,
      object_type,
      object_id,
      data,
      checksum
    }))
    .sort((a: Line, b: Line) =>
      `${a.bucket}/${a.object_type}/${a.object_id}`.localeCompare(
        `${b.bucket}/${b.object_type}/${b.object_id}`
      )
    );
  return { buckets, ops, streams: checkpoint.streams };
}

describe('golden vectors from the real PowerSync service 1.25', () => {
  let h: DevServerHarness;

  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'golden',
      sourceSql: ref('seed.sql'),
      rulesYaml: ref('sync-rules.yaml')
    });
  });
  afterAll(async () => h?.close());

  it('sends u-alice the same buckets, row JSON and checksums as the capture', async () => {
    const { status, lines, contentType } = await readSyncStream(
      h.server.url,
      await h.token('u-alice'),
      { buckets: [], include_checksum: true, raw_data: true, client_id: 'golden' },
      (line) => 'checkpoint_complete' in line
    );
    expect(status, JSON.stringify(lines[0])).toBe(200);
    expect(contentType).toContain('application/x-ndjson');
    const expected = comparable(readReferenceLines('stream-initial-alice.ndjson'));
    const actual = comparable(lines);
    expect(actual.buckets).toEqual(expected.buckets);
    expect(actual.ops).toEqual(expected.ops);
    expect(actual.streams).toEqual(expected.streams);
    expect(lines.at(-1)).toEqual({
      checkpoint_complete: { last_op_id: (lines[0] as Line).checkpoint.last_op_id }
    });
  });
});
