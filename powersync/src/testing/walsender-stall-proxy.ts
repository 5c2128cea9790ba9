import net from 'node:net';

export interface WalsenderStallProxy {
  /** `postgres://…` URL of `url` with its host and port replaced by the proxy's. */
  url(through: string): string;
  /**
   * From now on, each open connection holds what Postgres sends until the client next sends something,
   * then passes everything on again: what a logical walsender does after missing the wake-up of a commit.
   */
  stallUntilClientSpeaks(): void;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of Postgres that can recreate a walsender's missed wake-up on demand
 * (Postgres 16+ can miss a commit that lands between the walsender's flush check and its sleep; it then
 * sends nothing until the client speaks or wal_sender_timeout / 2 passes).
 */
export async function startWalsenderStallProxy(target: string): Promise<WalsenderStallProxy> {
  const { hostname, port } = new URL(target);
  const stalls = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(s);
      });
    }
    let held: Buffer[] | null = null;
    const stall = () => {
      held ??= [];
    };
    stalls.add(stall);
    client.on('close', () => stalls.delete(stall));
    upstream.on('data', (chunk: Buffer) => (held ? held.push(chunk) : client.write(chunk)));
    client.on('data', (chunk: Buffer) => {
      for (const c of held ?? []) client.write(c);
      held = null;
      upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxyPort = (server.address() as net.AddressInfo).port;
  return {
    url(through) {
      const u = new URL(through);
      u.hostname = '127.0.0.1';
      u.port = String(proxyPort);
      return u.toString();
    },
    stallUntilClientSpeaks() {
      for (const stall of stalls) stall();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
}
