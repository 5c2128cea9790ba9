import type { CheckpointLine } from './sync-as-user.ts';

/**
 * Asks the service for a write checkpoint as the probed user, then reads a fresh stream until a
 * checkpoint carries it (write_checkpoint ≥ the id). A service that never echoes write checkpoints
 * leaves every client with local writes pending forever. With `holding`, the stream says it already has
 * that checkpoint's buckets, so the service sends checkpoints only, not the user's data again.
 */
export async function checkWriteCheckpointEcho(
  endpoint: string,
  token: () => Promise<string>,
  waitMs: number,
  holding: CheckpointLine | null = null
): Promise<{ ok: boolean; waitedSeconds: number }> {
  const started = Date.now();
  const auth = { Authorization: `Token ${await token()}` };
  const created = await fetch(`${endpoint}/write-checkpoint2.json?client_id=syncscope-probe`, {
    headers: auth
  });
  if (!created.ok) return { ok: false, waitedSeconds: 0 };
  const target = BigInt(
    ((await created.json()) as { data: { write_checkpoint: string } }).data.write_checkpoint
  );
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), waitMs);
  try {
    const response = await fetch(`${endpoint}/sync/stream`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        buckets: (holding?.buckets ?? []).map((b) => ({ name: b.bucket, after: holding!.last_op_id })),
        include_checksum: true,
        raw_data: true,
        client_id: 'syncscope-probe'
      }),
      signal: controller.signal
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as {
          checkpoint?: { write_checkpoint?: string };
          checkpoint_diff?: { write_checkpoint?: string };
        };
        buffer = buffer.slice(newline + 1);
        const echoed = line.checkpoint?.write_checkpoint ?? line.checkpoint_diff?.write_checkpoint;
        if (echoed !== undefined && BigInt(echoed) >= target)
          return { ok: true, waitedSeconds: (Date.now() - started) / 1000 };
        newline = buffer.indexOf('\n');
      }
    }
  } catch {
    // aborted at the deadline
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { ok: false, waitedSeconds: Math.round((Date.now() - started) / 1000) };
}
