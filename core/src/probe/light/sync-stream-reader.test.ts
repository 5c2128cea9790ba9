import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readReference, readReferenceLines } from '../../testing/reference.ts';
import {
  applySyncLine,
  checkBuckets,
  emptyStreamState,
  resetBuckets,
  type StreamState,
  type SyncLine,
  SyncStreamError,
  SyncStreamReader
} from './sync-stream-reader.ts';

const WS1 = '1#by_workspace["ws-1"]';
const WS2 = '1#by_workspace["ws-2"]';

function replay(file: string, state: StreamState = emptyStreamState()): StreamState {
  for (const line of readReferenceLines(file)) applySyncLine(state, line as SyncLine);
  return state;
}

describe('applying the real service’s lines (reference captures)', () => {
  it('the first sync of u-alice: the golden checksums and counts, rec-1 with its JSON and PUT checksum', () => {
    const state = replay('stream-initial-alice.ndjson');
    expect(state.completed).toBe('36');
    expect(checkBuckets(state)).toEqual([
      expect.objectContaining({ bucket: WS2, expectedChecksum: 412709357, ok: true, countOk: true }),
      expect.objectContaining({ bucket: WS1, expectedChecksum: -507623818 >>> 0, ok: true, countOk: true })
    ]);
    const rec1 = [...state.buckets.get(WS1)!.rows.values()].find((r) => r.id === 'rec-1');
    expect(rec1).toEqual({
      table: 'records',
      id: 'rec-1',
      data: '{"id":"rec-1","workspace_id":"ws-1","title":"Record 1","amount":"12.345","category_id":"cat-1-2","created_at":"2026-01-01 11:00:00Z"}',
      checksum: 2278222453
    });
    expect(state.buckets.get(WS1)!.rows.size).toBe(6);
  });

  it('after compaction: CLEAR resets the checksum to its own and MOVE only adds, so both buckets validate', () => {
    const state = replay('stream-after-compact-alice.ndjson');
    expect(checkBuckets(state).map((c) => [c.bucket, c.ok, c.countOk])).toEqual([
      [WS2, true, null],
      [WS1, true, null]
    ]);
    // REMOVEs took rec-6, rec-11 and the live insert out; the MOVE and the CLEAR left no row.
    const ids = (bucket: string) => [...state.buckets.get(bucket)!.rows.values()].map((r) => r.id).sort();
    expect(ids(WS1)).toEqual(['cat-1-1', 'cat-1-2', 'rec-1', 'rec-16', 'rec-21']);
    expect(ids(WS2)).toEqual(['cat-2-1', 'cat-2-2', 'rec-12', 'rec-17', 'rec-2', 'rec-7', 'rec-null']);
  });

  it('live edits: each checkpoint_diff and its data validate, an updated row keeps only its latest PUT', () => {
    const state = emptyStreamState();
    let completions = 0;
    for (const line of readReferenceLines('stream-live-edits-alice.ndjson') as SyncLine[]) {
      applySyncLine(state, line);
      if ('checkpoint_complete' in line) {
        completions++;
        expect(checkBuckets(state).filter((c) => !c.ok)).toEqual([]);
      }
    }
    expect(completions).toBeGreaterThan(3);
    const rec1 = [...state.buckets.values()]
      .flatMap((b) => [...b.rows.values()])
      .filter((r) => r.id === 'rec-1');
    expect(rec1).toHaveLength(1);
    expect(rec1[0]!.data).toContain('Upd');
  });

  it('a membership removed: the bucket and its rows are gone (removed_buckets)', () => {
    const state = replay('stream-membership-alice.ndjson');
    expect([...state.buckets.keys()].sort()).toEqual([...state.checkpoint!.buckets.keys()].sort());
    expect(state.buckets.has('1#by_workspace["ws-3"]')).toBe(false);
    expect(checkBuckets(state).every((c) => c.ok)).toBe(true);
  });

  it('a checkpoint whose checksum is off by one fails that bucket alone, as the client’s validation', () => {
    const lines = readReferenceLines('stream-initial-alice.ndjson') as SyncLine[];
    const state = emptyStreamState();
    for (const line of lines) {
      if ('checkpoint' in line) {
        const buckets = line.checkpoint.buckets.map((b) =>
          b.bucket === WS1 ? { ...b, checksum: (b.checksum + 1) | 0 } : b
        );
        applySyncLine(state, { checkpoint: { ...line.checkpoint, buckets } });
      } else applySyncLine(state, line);
    }
    const failed = checkBuckets(state).filter((c) => !c.ok);
    expect(failed).toEqual([
      expect.objectContaining({
        bucket: WS1,
        expectedChecksum: ((-507623818 + 1) | 0) >>> 0,
        actualChecksum: -507623818 >>> 0
      })
    ]);
    resetBuckets(state, [WS1]);
    expect(state.buckets.has(WS1)).toBe(false);
    expect(state.buckets.has(WS2)).toBe(true);
  });

  it('a missing operation (count and checksum both lower) is a count mismatch too', () => {
    const state = emptyStreamState();
    for (const line of readReferenceLines('stream-initial-alice.ndjson') as SyncLine[]) {
      if ('data' in line && line.data.bucket === WS2)
        applySyncLine(state, { data: { ...line.data, data: line.data.data.slice(1) } });
      else applySyncLine(state, line);
    }
    const ws2 = checkBuckets(state).find((c) => c.bucket === WS2)!;
    expect(ws2).toMatchObject({ ok: false, countOk: false, expectedCount: 6, operations: 5 });
  });
});

describe('SyncStreamReader over HTTP', () => {
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise((r) => server?.close(r));
    server = null;
  });

  /** Answers each request with the next handler; records what each request sent. */
  async function serve(
    handlers: ((req: IncomingMessage, res: import('node:http').ServerResponse) => void)[]
  ): Promise<{ url: string; requests: { token: string; body: { buckets: unknown[] } }[] }> {
    const requests: { token: string; body: { buckets: unknown[] } }[] = [];
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => {
        requests.push({ token: String(req.headers.authorization), body: JSON.parse(text) });
        const handler = handlers[requests.length - 1];
        if (handler) handler(req, res);
        else res.writeHead(503).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
  }

  it('reads lines split across chunks, refreshes its token at token_expires_in ≤ 30 and resumes from its positions', async () => {
    const initial = readReference('stream-initial-alice.ndjson');
    const { url, requests } = await serve([
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        // Odd-sized chunks: lines arrive in pieces.
        const text = `${initial}{"token_expires_in":20}\n`;
        for (let i = 0; i < text.length; i += 97) res.write(text.slice(i, i + 97));
      },
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        res.write(`${initial.split('\n')[0]}\n{"checkpoint_complete":{"last_op_id":"36"}}\n`);
      }
    ]);
    let minted = 0;
    const controller = new AbortController();
    const reader = new SyncStreamReader({
      endpoint: url,
      token: async () => `token-${++minted}`,
      signal: controller.signal
    });
    const seen: string[] = [];
    for await (const line of reader.lines()) {
      seen.push(Object.keys(line)[0]!);
      if (reader.connects === 2 && 'checkpoint_complete' in line) controller.abort();
    }
    expect(seen).toEqual([
      'checkpoint',
      'data',
      'data',
      'checkpoint_complete',
      'token_expires_in',
      'checkpoint',
      'checkpoint_complete'
    ]);
    expect(requests.map((r) => r.token)).toEqual(['Token token-1', 'Token token-2']);
    expect(requests[0]!.body.buckets).toEqual([]);
    // The held buckets at their last next_after, from the first stream.
    expect(requests[1]!.body.buckets).toEqual([
      { name: WS1, after: '22' },
      { name: WS2, after: '24' }
    ]);
    expect(reader.tokenRefreshes).toBe(1);
    expect(checkBuckets(reader.state).every((c) => c.ok)).toBe(true);
  });

  it('a refused token is auth-rejected with the service’s code; a 500 with the service’s body is service-error', async () => {
    const { url } = await serve([
      (_req, res) =>
        res
          .writeHead(401, { 'Content-Type': 'application/json' })
          .end(
            '{"error":{"code":"PSYNC_S2101","status":401,"description":"Could not find an appropriate key"}}'
          ),
      (_req, res) =>
        res
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end(readReference('stream-bucket-limit-alice.ndjson'))
    ]);
    const read = async () => {
      const reader = new SyncStreamReader({ endpoint: url, token: async () => 't' });
      for await (const _ of reader.lines());
    };
    await expect(read()).rejects.toMatchObject({
      outcome: { kind: 'auth-rejected', httpStatus: 401, code: 'PSYNC_S2101' }
    });
    await expect(read()).rejects.toMatchObject({
      outcome: { kind: 'service-error', httpStatus: 500, code: 'PSYNC_S2305' }
    });
  });

  it('nothing listening is unreachable; a body that ends is stream-ended, and lines() again resumes', async () => {
    const nowhere = new SyncStreamReader({ endpoint: 'http://127.0.0.1:9', token: async () => 't' });
    const failure = await (async () => {
      for await (const _ of nowhere.lines());
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SyncStreamError);
    expect((failure as SyncStreamError).outcome.kind).toBe('unreachable');

    const { url, requests } = await serve([
      (_req, res) => {
        res.writeHead(200).end(readReference('stream-initial-alice.ndjson'));
      },
      (_req, res) => res.writeHead(200).end('{"checkpoint_complete":{"last_op_id":"36"}}\n')
    ]);
    const reader = new SyncStreamReader({ endpoint: url, token: async () => 't' });
    const ended = await (async () => {
      for await (const _ of reader.lines());
    })().catch((e: unknown) => e);
    expect((ended as SyncStreamError).outcome.kind).toBe('stream-ended');
    await (async () => {
      for await (const _ of reader.lines());
    })().catch(() => {});
    expect(requests[1]!.body.buckets).toEqual([
      { name: WS1, after: '22' },
      { name: WS2, after: '24' }
    ]);
  });

  it('an abort ends the iteration promptly while the service holds the stream open', async () => {
    const { url } = await serve([
      (_req, res) => {
        res.writeHead(200);
        res.write('{"checkpoint":{"last_op_id":"0","buckets":[]}}\n');
      }
    ]);
    const controller = new AbortController();
    const reader = new SyncStreamReader({ endpoint: url, token: async () => 't', signal: controller.signal });
    const started = Date.now();
    for await (const line of reader.lines())
      if ('checkpoint' in line) setTimeout(() => controller.abort(), 50);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
