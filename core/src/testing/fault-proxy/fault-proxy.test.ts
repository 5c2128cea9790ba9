import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';

/** An upstream that sends `greeting` to every connection and echoes whatever it receives. */
async function startUpstream(greeting: Buffer) {
  const sockets = new Set<net.Socket>();
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', (d) => {
      received.push(d);
      socket.write(d);
    });
    socket.write(greeting);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(received),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  };
}

/** Connects to the proxy and collects what arrives until the connection ends, and how it ended. */
function connect(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  const ended = new Promise<{ how: 'end' | 'reset' | 'error'; bytes: Buffer; at: number }>((resolve) => {
    socket.on('error', (e: NodeJS.ErrnoException) =>
      resolve({
        how: e.code === 'ECONNRESET' ? 'reset' : 'error',
        bytes: Buffer.concat(chunks),
        at: Date.now()
      })
    );
    socket.on('end', () => resolve({ how: 'end', bytes: Buffer.concat(chunks), at: Date.now() }));
  });
  const received = () => Buffer.concat(chunks);
  const until = async (n: number, timeoutMs = 2_000) => {
    const deadline = Date.now() + timeoutMs;
    while (received().length < n) {
      if (Date.now() > deadline) throw new Error(`got ${received().length} of ${n} bytes`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return received();
  };
  return { socket, ended, received, until };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GREETING = Buffer.alloc(64 * 1024, 'g');

describe('fault proxy', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let proxy: FaultProxy;
  beforeEach(async () => {
    upstream = await startUpstream(GREETING);
    proxy = await startFaultProxy({ host: '127.0.0.1', port: upstream.port });
  });
  afterEach(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('passes bytes both ways unchanged, and counts them per connection', async () => {
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    c.socket.write('hello');
    const all = await c.until(GREETING.length + 5);
    expect(all.subarray(GREETING.length).toString()).toBe('hello');
    expect(upstream.received().toString()).toBe('hello');
    expect(proxy.connections[0]?.bytes).toEqual({ upstream: 5, downstream: GREETING.length + 5 });
    c.socket.end();
    expect((await c.ended).how).toBe('end');
  });

  it('cuts downstream after exactly N bytes with a FIN, then the spent cut lets a new connection through', async () => {
    proxy.setFault({ cutAfterBytes: 1000 });
    const cut = connect(proxy.port);
    const ended = await cut.ended;
    expect(ended.how).toBe('end');
    expect(ended.bytes.length).toBe(1000);
    const next = connect(proxy.port);
    expect((await next.until(GREETING.length)).length).toBe(GREETING.length);
    next.socket.destroy();
  });

  it('a global cut counts across connections: the one crossing the offset is cut there', async () => {
    const first = connect(proxy.port);
    await first.until(GREETING.length);
    proxy.setFault({ cutAfterBytes: 13, direction: 'both' });
    first.socket.write('12345'); // 5 up, echoed 5 down: 10 of 13 bytes
    await first.until(GREETING.length + 5);
    first.socket.write('abcdefgh'); // the cut fires after 'abc', the 13th byte
    const ended = await first.ended;
    expect(ended.how).toBe('end');
    expect(upstream.received().toString()).toBe('12345abc');
  });

  it('cuts upstream bytes only when told to count them', async () => {
    proxy.setFault({ cutAfterBytes: 3, direction: 'upstream' });
    const c = connect(proxy.port);
    await c.until(GREETING.length); // downstream bytes are not counted
    c.socket.write('abcdef');
    expect((await c.ended).how).toBe('end');
    expect(upstream.received().toString()).toBe('abc');
  });

  it('cut with reset: the client sees ECONNRESET', async () => {
    proxy.setFault({ cutAfterBytes: 100, cutWith: 'reset' });
    const c = connect(proxy.port);
    const ended = await c.ended;
    expect(ended.how).toBe('reset');
    expect(ended.bytes.length).toBe(100);
  });

  it('resets an open connection on demand', async () => {
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    proxy.connections[0]!.reset();
    expect((await c.ended).how).toBe('reset');
  });

  it('refuses new connections with a reset, and accepts them again when switched back', async () => {
    proxy.setFault({ refuse: true });
    expect((await connect(proxy.port).ended).how).toBe('reset');
    proxy.setFault({});
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    c.socket.destroy();
  });

  it('delays every chunk and keeps their order', async () => {
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    proxy.setFault({ delayMs: 150 });
    const sent = Date.now();
    for (const part of ['a', 'b', 'c']) c.socket.write(part);
    const all = await c.until(GREETING.length + 3);
    // 150 ms up and 150 ms back down.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(280);
    expect(all.subarray(GREETING.length).toString()).toBe('abc');
  });

  it('delay is latency, not a wait per chunk: chunks sent together arrive together', async () => {
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    proxy.setFault({ delayMs: 150 });
    const sent = Date.now();
    for (let i = 0; i < 20; i++) {
      c.socket.write('x');
      await sleep(2);
    }
    await c.until(GREETING.length + 20);
    expect(Date.now() - sent).toBeLessThan(20 * 150);
    c.socket.destroy();
  });

  it('limits bandwidth: 64 KiB at 256 KiB/s take about a quarter of a second', async () => {
    proxy.setFault({ bytesPerSecond: 256 * 1024 });
    const started = Date.now();
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    c.socket.destroy();
  });

  it('black-holes an open connection without closing it, and resumes it when lifted', async () => {
    const c = connect(proxy.port);
    await c.until(GREETING.length);
    proxy.setFault({ blackhole: true });
    c.socket.write('lost?');
    await sleep(200);
    expect(upstream.received().length).toBe(0);
    expect(c.socket.destroyed).toBe(false);
    expect(proxy.connections).toHaveLength(1);
    proxy.setFault({});
    await c.until(GREETING.length + 5);
    expect(upstream.received().toString()).toBe('lost?');
    c.socket.destroy();
  });

  it('black-holes new connections: accepted, nothing forwarded', async () => {
    proxy.setFault({ blackhole: true });
    const c = connect(proxy.port);
    await sleep(200);
    expect(c.received().length).toBe(0);
    expect(proxy.accepted).toBe(1);
    c.socket.destroy();
  });

  it('a fault of one connection leaves the others passing', async () => {
    proxy.onConnection((connection) => {
      if (connection.id === 1) connection.setFault({ cutAfterBytes: 10 });
    });
    const first = connect(proxy.port);
    const second = connect(proxy.port);
    expect((await first.ended).bytes.length).toBe(10);
    expect((await second.until(GREETING.length)).length).toBe(GREETING.length);
    second.socket.destroy();
  });

  it('a refused upstream reaches the client as a reset', async () => {
    await upstream.close();
    const c = connect(proxy.port);
    expect((await c.ended).how).toBe('reset');
  });
});
