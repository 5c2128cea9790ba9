import type { StreamSubscription } from '../../sync-rules/stream-subscriptions.ts';
import { type CheckpointLine, syncRequestStreams } from './sync-as-user.ts';

/**
 * Asks the service for a write checkpoint as the probed user, then reads a fresh stream until a
 * checkpoint carries it (write_checkpoint ≥ the id). A service that never echoes write checkpoints
 * leaves every client with local writes pending forever. With `holding`, the stream says it already has
 * that checkpoint's buckets (and asks for the same subscriptions), so the service sends checkpoints only,
 * not the user's data again.
 */
export function checkWriteCheckpointEcho(
  endpoint: string,
  token: () => Promise<string>,
  waitMs: number,
  holding: CheckpointLine | null = null,
  subscriptions: readonly StreamSubscription[] = [],
  /** Ends the check early (the probe finished without needing it). */
  cancel?: AbortSignal
): Promise<EchoCheck> {
  return untilEchoed(waitMs, cancel, (signal) => echoOnce(endpoint, token, holding, subscriptions, signal));
}

/** A stream the caller keeps following (the light probe's): it can tell when a write checkpoint arrives. */
export interface FollowedStream {
  clientId: string;
  writeCheckpointAtLeast(id: bigint, signal: AbortSignal): Promise<boolean>;
}

/**
 * The same check on a stream the caller already follows: one write checkpoint asked for as the user,
 * its echo read on that stream. No second stream: with many probes in flight, the second stream each
 * doubled the service's open streams and the checkpoints it recomputes on every change.
 */
export function checkWriteCheckpointEchoOn(
  stream: FollowedStream,
  endpoint: string,
  token: () => Promise<string>,
  waitMs: number,
  cancel?: AbortSignal
): Promise<EchoCheck> {
  return untilEchoed(waitMs, cancel, async (signal) => {
    const id = await createWriteCheckpoint(endpoint, token, stream.clientId, signal);
    return id !== null && (await stream.writeCheckpointAtLeast(id, signal));
  });
}

export interface EchoCheck {
  ok: boolean;
  waitedSeconds: number;
}

/** Tries `once` until it sees the echo or `waitMs` (one deadline for every try) runs out. */
async function untilEchoed(
  waitMs: number,
  cancel: AbortSignal | undefined,
  once: (signal: AbortSignal) => Promise<boolean>
): Promise<EchoCheck> {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), waitMs);
  const stop = () => controller.abort();
  cancel?.addEventListener('abort', stop);
  try {
    // A connection that breaks (cut, reset) is not a service that never echoes: ask again while time is left.
    while (!controller.signal.aborted) {
      if (await once(controller.signal)) return { ok: true, waitedSeconds: (Date.now() - started) / 1000 };
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

/** Asks the service for a write checkpoint as the token's user; null when it refused or failed. */
async function createWriteCheckpoint(
  endpoint: string,
  token: () => Promise<string>,
  clientId: string,
  signal: AbortSignal
): Promise<bigint | null> {
  try {
    const created = await fetch(
      `${endpoint}/write-checkpoint2.json?client_id=${encodeURIComponent(clientId)}`,
      { headers: { Authorization: `Token ${await token()}` }, signal }
    );
    if (!created.ok) return null;
    return BigInt(((await created.json()) as { data: { write_checkpoint: string } }).data.write_checkpoint);
  } catch {
    return null; // aborted, or the connection failed
  }
}

/** One write checkpoint and one stream read until it is echoed (true), or the stream fails or ends. */
async function echoOnce(
  endpoint: string,
  token: () => Promise<string>,
  holding: CheckpointLine | null,
  subscriptions: readonly StreamSubscription[],
  signal: AbortSignal
): Promise<boolean> {
  const target = await createWriteCheckpoint(endpoint, token, 'syncscope-probe', signal);
  if (target === null) return false;
  try {
    const auth = { Authorization: `Token ${await token()}` };
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
