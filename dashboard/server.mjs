// The console's HTTP server: `next start`, plus the one thing Next cannot tell a route: the socket's
// peer address. It is written to x-syncscope-peer on every request, overwriting whatever a client sent,
// so the console can decide whether the peer is a trusted proxy whose X-Forwarded-* headers count
// (src/server/request-origin.ts). Usage: node server.mjs [-p PORT] [-H HOST]
//
// It runs in the repository (`npm start`, the tests) and in the console image, from Next's standalone
// output (scripts/assemble-console.mjs), which has no next.config.ts: there the build's resolved config
// (.next/required-server-files.json) is handed to Next the way Next's own standalone server.js does.
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';

const args = process.argv.slice(2);
const option = (short, long, fallback) => {
  const i = args.findIndex((a) => a === short || a === long);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const port = Number(option('-p', '--port', process.env.PORT ?? '3000'));
const hostname = option('-H', '--hostname', '127.0.0.1');

const dir = path.dirname(fileURLToPath(import.meta.url));
const builtConfig = path.join(dir, '.next', 'required-server-files.json');
if (!existsSync(path.join(dir, 'next.config.ts')) && existsSync(builtConfig)) {
  process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(
    JSON.parse(readFileSync(builtConfig, 'utf8')).config
  );
}

const app = next({ dev: false, dir, hostname, port });
const handle = app.getRequestHandler();
await app.prepare();
http
  .createServer((request, response) => {
    request.headers['x-syncscope-peer'] = request.socket.remoteAddress ?? '';
    handle(request, response);
  })
  .listen(port, hostname, () => console.log(`SyncScope console on http://${hostname}:${port}`));
