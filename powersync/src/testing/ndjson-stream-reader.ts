/** Reads an NDJSON sync stream until `stop` returns true for a line (or the timeout passes). */
export async function readSyncStream(
  url: string,
  token: string,
  body: Record<string, unknown>,
  stop: (line: Record<string, unknown>, lines: Record<string, unknown>[]) => boolean,
  timeoutMs = 15_000
): Promise<{ status: number; lines: Record<string, unknown>[]; contentType: string | null }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const lines: Record<string, unknown>[] = [];
  try {
    const response = await fetch(`${url}/sync/stream`, {
      method: 'POST',
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal
    });
    if (!response.ok || !response.body) {
      return {
        status: response.status,
        lines: [await response.json()],
        contentType: response.headers.get('content-type')
      };
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
          buffer = buffer.slice(newline + 1);
          lines.push(line);
          if (stop(line, lines)) {
            controller.abort();
            return { status: response.status, lines, contentType: response.headers.get('content-type') };
          }
          newline = buffer.indexOf('\n');
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
    return { status: response.status, lines, contentType: response.headers.get('content-type') };
  } finally {
    clearTimeout(timer);
  }
}
