import net from 'node:net';
import { SyncScopeError } from '../errors/index.ts';

/** Fails with a message naming the env var that moves the port, before anything binds half-way. */
export async function assertPortFree(
  host: string,
  port: number,
  envVar: string,
  what: string
): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
  if (!free) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_PORT_IN_USE',
      `${what} cannot listen on ${host}:${port}: the port is taken. Stop the program using it, or set ${envVar} to a free port.`,
      { host, port, envVar }
    );
  }
}

/** Asks the OS for a free loopback port (tests and benchmarks). */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0 }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
