import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import { type CheckpointLine, syncRequestStreams } from './sync-as-user.ts';

/**
 * Asks the service for a write checkpoint as the probed user, then reads a fresh stream until a
 * checkpoint carries it (write_checkpoint ≥ the id). A service that never echoes write checkpoints
 * leaves every client with local writes pending forever. With `holding`, the stream says it already has
 * that checkpoint's buckets (and asks for the same subscriptions), so the service sends checkpoints only,
 * not the user's data again.
 */
export async function checkWriteCheckpointEcho(
  endpoint: string,
  token: () => Promise<string>,
  waitMs: number,
  holding: CheckpointLine | null = null,
  subscriptions: readonly StreamSubscription[] = [],
  /** Ends the check early (the probe finished without needing it). */
  cancel?: AbortSignal
): Promise<{ ok: boolean; waitedSeconds: number }> {
  const started = Date.now();
  // One deadline for both requests: the write checkpoint and the stream that should echo it.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), waitMs);
  const stop = () => controller.abort();
  cancel?.addEventListener('abort', stop);
  try {
    const auth = { Authorization: `Token ${await token()}` };
    const created = await fetch(`${endpoint}/write-checkpoint2.json?client_id=syncscope-probe`, {
      headers: auth,
      signal: controller.signal
    });
    if (!created.ok) return { ok: false, waitedSeconds: 0 };
    const target = BigInt(
      ((await created.json()) as { data: { write_checkpoint: string } }).data.write_checkpoint
    );
    const response = await fetch(`${endpoint}/sync/stream`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        buckets: (holding?.buckets ?? []).map((b) => ({ name: b.bucket, after: holding!.last_op_id })),
        include_checksum: true,
        raw_data: true,
        client_id: 'syncscope-probe',
        streams: syncRequestStreams(subscriptions)
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
    // aborted at the deadline or cancelled, or the service could not be reached
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', stop);
    controller.abort();
  }
  return { ok: false, waitedSeconds: Math.round((Date.now() - started) / 1000) };
}
