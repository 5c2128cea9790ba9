import { readReference } from '@syncscope/core/testing/reference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITE_CHECKPOINT_MESSAGE_PREFIX } from '../replication/replicator.ts';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

describe('write checkpoints reach a connected client at once', () => {
  let h: DevServerHarness;
  beforeAll(async () => {
    h = await startDevServerHarness({
      name: 'write_checkpoint_echo',
      sourceSql: readReference('seed.sql'),
      rulesYaml: readReference('sync-rules.yaml')
    });
  });
  afterAll(async () => h?.close());

  it('one stored after replication passed its position is echoed without waiting for a keepalive', async () => {
    // What /write-checkpoint2.json does, in the order a busy server can see it: replication passes the
    // marker before the checkpoint's row is stored.
    const { rows } = await h.source.query<{ lsn: string }>(
      'SELECT pg_logical_emit_message(false, $1, $2)::text AS lsn',
      [WRITE_CHECKPOINT_MESSAGE_PREFIX, 'write-checkpoint']
    );
    await h.caughtUp();
    let id: string | null = null;
    let storedAt = 0;
    const echoed = (line: Record<string, unknown>) => {
      const checkpoint = (line.checkpoint ?? line.checkpoint_diff) as
        | { write_checkpoint?: string }
        | undefined;
      return id !== null && checkpoint?.write_checkpoint === id;
    };
    const { lines } = await readSyncStream(
      h.server.url,
      await h.token('u-alice'),
      { buckets: [], include_checksum: true, raw_data: true },
      (line) => {
        if ('checkpoint_complete' in line && id === null) {
          storedAt = Date.now();
          void h.server.storage.createWriteCheckpoint('u-alice', null, rows[0]!.lsn).then((n) => {
            id = n.toString();
          });
        }
        return echoed(line);
      },
      8_000 // the keepalive is 20 s: a checkpoint noticed only then would miss this
    );
    expect(lines.some(echoed), 'the write checkpoint never reached the stream').toBe(true);
    expect(Date.now() - storedAt).toBeLessThan(2_000);
  });

  it("wakes only its user's sessions: another user's stream reads no checkpoint for it", async () => {
    const storage = h.server.storage;
    const read = storage.readCheckpointWithChecksums.bind(storage);
    let reads = 0;
    storage.readCheckpointWithChecksums = (...args) => {
      reads++;
      return read(...args);
    };
    let readsAfter = -1;
    try {
      await readSyncStream(
        h.server.url,
        await h.token('u-bob'),
        { buckets: [], include_checksum: true, raw_data: true },
        (line) => {
          if ('checkpoint_complete' in line && readsAfter === -1) {
            const before = reads;
            readsAfter = 0;
            void storage
              .createWriteCheckpoint('u-alice', null, '0/0')
              .then(() => new Promise((r) => setTimeout(r, 500)))
              .then(() => {
                readsAfter = reads - before;
              });
          }
          return false;
        },
        2_000
      ).catch(() => {});
    } finally {
      storage.readCheckpointWithChecksums = read;
    }
    expect(readsAfter).toBe(0);
  });
});
