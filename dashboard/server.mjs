// The console's HTTP server: `next start`, plus the one thing Next cannot tell a route: the socket's
// peer address. It is written to x-syncscope-peer on every request, overwriting whatever a client sent,
// so the console can decide whether the peer is a trusted proxy whose X-Forwarded-* headers count
// (src/server/request-origin.ts). Usage: node server.mjs [-p PORT] [-H HOST]
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

const app = next({ dev: false, dir: path.dirname(fileURLToPath(import.meta.url)), hostname, port });
const handle = app.getRequestHandler();
await app.prepare();
http
  .createServer((request, response) => {
    request.headers['x-syncscope-peer'] = request.socket.remoteAddress ?? '';
    handle(request, response);
  })
  .listen(port, hostname, () => console.log(`SyncScope console on http://${hostname}:${port}`));
