import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers one path with one status and body: captures of the real service, served as it sent them. */
export type CaptureRoutes = Record<string, { status: number; body: string }>;

/** A loopback HTTP server answering `routes` (404 otherwise), for a target's sync or admin URL. */
export async function startCaptureServer(
  routes: CaptureRoutes
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = routes[new URL(req.url ?? '/', 'http://x').pathname] ?? { status: 404, body: '{}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  };
}
