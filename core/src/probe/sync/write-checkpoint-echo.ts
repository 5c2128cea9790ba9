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
  // One deadline for all requests: the write checkpoint and the stream that should echo it.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), waitMs);
  const stop = () => controller.abort();
  cancel?.addEventListener('abort', stop);
  try {
    // A connection that breaks (cut, reset) is not a service that never echoes: ask again while time is left.
    while (!controller.signal.aborted) {
      if (await echoOnce(endpoint, token, holding, subscriptions, controller.signal))
        return { ok: true, waitedSeconds: (Date.now() - started) / 1000 };
      await new Promise((r) => setTimeout(r, ECHO_RETRY_MS));
    }
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', stop);
    controller.abort();
  }
  return { ok: false, waitedSeconds: Math.round((Date.now() - started) / 1000) };
}

const ECHO_RETRY_MS = 250;

/** One write checkpoint and one stream read until it is echoed (true), or the stream fails or ends. */
async function echoOnce(
  endpoint: string,
  token: () => Promise<string>,
  holding: CheckpointLine | null,
  subscriptions: readonly StreamSubscription[],
  signal: AbortSignal
): Promise<boolean> {
  try {
    const auth = { Authorization: `Token ${await token()}` };
    const created = await fetch(`${endpoint}/write-checkpoint2.json?client_id=syncscope-probe`, {
      headers: auth,
      signal
    });
    if (!created.ok) return false;
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
      signal
    });
    if (!response.ok || !response.body) return false;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as {
          checkpoint?: { write_checkpoint?: string };
          checkpoint_diff?: { write_checkpoint?: string };
        };
        buffer = buffer.slice(newline + 1);
        const echoed = line.checkpoint?.write_checkpoint ?? line.checkpoint_diff?.write_checkpoint;
        if (echoed !== undefined && BigInt(echoed) >= target) return true;
        newline = buffer.indexOf('\n');
      }
    }
  } catch {
    // aborted at the deadline or cancelled, or the connection failed (cut mid-line too)
    return false;
  }
}
