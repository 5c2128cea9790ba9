// A bare NDJSON sync reader in its own thread, so its JSON parsing does not share the server's event loop.
// Reads one stream until checkpoint_complete; reports ops received and elapsed milliseconds.
import { parentPort, workerData } from 'node:worker_threads';

const { url, token } = workerData;
const started = performance.now();
const response = await fetch(`${url}/sync/stream`, {
  method: 'POST',
  headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ buckets: [], raw_data: true, include_checksum: true })
});
const decoder = new TextDecoder();
let buffer = '';
let ops = 0;
outer: for await (const chunk of response.body) {
  buffer += decoder.decode(chunk, { stream: true });
  let newline = buffer.indexOf('\n');
  while (newline >= 0) {
    const line = JSON.parse(buffer.slice(0, newline));
    buffer = buffer.slice(newline + 1);
    if (line.data) ops += line.data.data.length;
    if (line.checkpoint_complete) break outer;
    newline = buffer.indexOf('\n');
  }
}
parentPort.postMessage({ ops, ms: performance.now() - started });
process.exit(0);
