/**
 * The freshness marker: a row written through the target's own write path (the app backend's upload
 * endpoint, with the write probe's rotated credential, into `write_probe.table` with its `values`) and
 * timed until it arrives on each canary's sync stream: the end-to-end lag a user feels between a write
 * and seeing it. One row per agent and target, overwritten (PUT) with a new marker each time.
 */
import { SyncScopeError } from '../errors/index.ts';
import type { DataLine } from '../probe/light/sync-stream-reader.ts';
import type { ProbeTarget } from '../probe/probe-types.ts';

const UPLOAD_TIMEOUT_MS = 10_000;

export interface WrittenMarker {
  rowId: string;
  marker: string;
  /** When the upload was sent (the clock starts as the user's write leaves the client). */
  sentAt: number;
}

/** The marker text a row carries in `write_probe.marker_column`, so the app can tell it apart. */
export function markerText(seq: number, at: number): string {
  return `syncscope-freshness ${new Date(at).toISOString()} #${seq}`;
}

/**
 * Writes one marker with a PUT through the upload endpoint and waits for the backend's answer; throws
 * SYNCSCOPE_E_FRESHNESS_MARKER_FAILED with the backend's answer (never the credential).
 */
export async function writeFreshnessMarker(
  target: ProbeTarget,
  rowId: string,
  marker: string
): Promise<WrittenMarker> {
  const settings = target.writeProbe;
  if (!settings || !target.uploadUrl) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_TARGETS_INVALID',
      `Target "${target.name}" has canaries.freshness but no write_probe and upload_url to write its marker through.`
    );
  }
  const sentAt = Date.now();
  const failed = (detail: string) =>
    new SyncScopeError(
      'SYNCSCOPE_E_FRESHNESS_MARKER_FAILED',
      `The freshness marker for target "${target.name}" was not written through ${target.uploadUrl}: ${detail}.`
    );
  let response: Response;
  try {
    response = await fetch(target.uploadUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${settings.uploadToken}` },
      body: JSON.stringify({
        batch: [
          {
            op: 'PUT',
            table: settings.table,
            id: rowId,
            data: { ...settings.values, [settings.markerColumn]: marker }
          }
        ]
      }),
      signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS)
    });
  } catch (error) {
    throw failed((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
  }
  const body = (await response.json().catch(() => null)) as {
    results?: { ok: boolean; code?: string; detail?: string }[];
  } | null;
  const result = body?.results?.[0];
  if (!response.ok || !result?.ok) {
    throw failed(
      `HTTP ${response.status}${result && !result.ok ? ` ${result.code ?? ''}: ${result.detail ?? ''}` : ''}`
    );
  }
  return { rowId, marker, sentAt };
}

/**
 * Times markers to canaries' streams: `expect` the marker just written, `arrived` with each data line a
 * canary receives; each canary's first sight of the marker resolves its lag (once).
 */
export class FreshnessWatch {
  private current: (WrittenMarker & { table: string; markerColumn: string; seen: Set<string> }) | null = null;

  constructor(private readonly onLag: (canary: string, seconds: number) => void) {}

  expect(written: WrittenMarker, table: string, markerColumn: string): void {
    this.current = { ...written, table, markerColumn, seen: new Set() };
  }

  /** A data line on `canary`'s stream, arrived at `at`. */
  arrived(canary: string, line: DataLine, at: number): void {
    const c = this.current;
    if (!c || c.seen.has(canary)) return;
    for (const op of line.data) {
      if (op.op !== 'PUT' || op.object_type !== c.table || op.object_id !== c.rowId) continue;
      if (!op.data?.includes(c.marker)) continue;
      const value = (JSON.parse(op.data) as Record<string, unknown>)[c.markerColumn];
      if (value !== c.marker) continue;
      c.seen.add(canary);
      this.onLag(canary, Math.max(0, at - c.sentAt) / 1000);
      return;
    }
  }
}
