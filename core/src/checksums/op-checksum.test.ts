import { describe, expect, it } from 'vitest';
import { readReferenceLines } from '../testing/reference.ts';
import { addChecksums, putChecksum, removeChecksum, toSignedChecksum } from './op-checksum.ts';

interface OpLine {
  op: string;
  object_type?: string;
  object_id?: string;
  subkey?: string;
  data?: string | null;
  checksum: number;
}

function dataLines(file: string): OpLine[] {
  return readReferenceLines(file)
    .filter((line) => 'data' in line)
    .flatMap((line) => line.data.data as OpLine[]);
}

describe('operation checksums against the real service captures', () => {
  const files = [
    'stream-initial-alice.ndjson',
    'stream-live-edits-alice.ndjson',
    'stream-membership-alice.ndjson'
  ];
  it.each(files)('every PUT and REMOVE in %s', (file) => {
    const ops = dataLines(file);
    expect(ops.length).toBeGreaterThan(5);
    for (const op of ops) {
      const computed =
        op.op === 'PUT' ? putChecksum(op.object_type!, op.object_id!, op.data!) : removeChecksum(op.subkey!);
      expect({ id: op.object_id, checksum: computed }).toEqual({ id: op.object_id, checksum: op.checksum });
    }
  });

  it('bucket checksum is the signed wrapping sum of its ops (golden ws-1 = -507623818)', () => {
    const ops = dataLines('stream-initial-alice.ndjson').slice(0, 6);
    const sum = ops.reduce((acc, op) => addChecksums(acc, op.checksum), 0);
    expect(toSignedChecksum(sum)).toBe(-507623818);
  });
});
