/**
 * A loopback TCP proxy that misbehaves on request: put it between the probe and the sync service, or
 * between the probe and Postgres, and switch faults at run time, for every connection or for one.
 *
 *   client ──▶ 127.0.0.1:<port> ──(fault)──▶ upstream host:port
 *
 * Faults (one `Fault` object; `{}` passes through):
 * - cut: after N bytes in a direction, the connection ends (FIN, or RST with `cutWith: 'reset'`). A cut
 *   is one event: once it fires, its fault is spent and passes through (a global cut cuts the one
 *   connection that crosses the offset, so "the stream cut at byte N of the first sync" is one setting).
 * - delay and bandwidth: every chunk is held this long, and forwarded at most this fast (order kept),
 *   in both directions.
 * - blackhole: the proxy stops reading, so nothing is forwarded and nothing closes; the kernel's
 *   buffers fill and the peer's writes stall, as in a partition. Lifting it resumes where it stopped.
 * - refuse: new connections are reset at once (RST), as a stopped service's port answers.
 * `reset()` on a connection (or `resetAll()`) sends RST both ways now.
 */
import net from 'node:net';

export interface Fault {
  /** End the connection once this many bytes have passed in `direction` since the fault was set. */
  cutAfterBytes?: number;
  /** The bytes a cut counts: client → upstream, upstream → client, or both (default downstream). */
  direction?: Direction | 'both';
  /** How a cut ends the connection: FIN (default) or RST. */
  cutWith?: 'close' | 'reset';
  /** Milliseconds every chunk is held before it is forwarded (latency). */
  delayMs?: number;
  /** Forward at most this many bytes a second each way (bandwidth), in slices of 1 KiB. */
  bytesPerSecond?: number;
  /** Stop forwarding without closing. */
  blackhole?: boolean;
  /** Reset new connections as soon as they are accepted. */
  refuse?: boolean;
}

const THROTTLE_SLICE_BYTES = 1024;

export type Direction = 'upstream' | 'downstream';

export interface Upstream {
  host: string;
  port: number;
}

/** A fault with its own byte count: bytes passed since it was set, and whether its cut has fired. */
class FaultState {
  private counted = 0;
  private spent = false;
  constructor(readonly fault: Fault) {}

  /** Of `n` bytes going `direction`: how many pass, and whether the cut fires after them. */
  take(direction: Direction, n: number): { pass: number; cut: boolean } {
    const { cutAfterBytes, direction: counts = 'downstream' } = this.fault;
    if (cutAfterBytes === undefined || this.spent) return { pass: n, cut: false };
    if (counts !== 'both' && counts !== direction) return { pass: n, cut: false };
    const left = cutAfterBytes - this.counted;
    // Exactly at the offset the cut fires with this chunk, not after a further one.
    if (left > n) {
      this.counted += n;
      return { pass: n, cut: false };
    }
    this.counted = cutAfterBytes;
    this.spent = true;
    return { pass: Math.max(0, left), cut: true };
  }
}

export class ProxyConnection {
  readonly bytes = { upstream: 0, downstream: 0 };
  private own: FaultState | null = null;
  private closed = false;
  private socketsClosed = 0;
  // Deliveries are chained so a delayed chunk never overtakes an earlier one, nor the FIN after it.
  private readonly queues: Record<Direction, Promise<void>> = {
    upstream: Promise.resolve(),
    downstream: Promise.resolve()
  };
  /**
   * When each direction's last throttled slice is through. Slices are timed against this clock, not
   * by a sleep each: timers round a 3.9 ms sleep down, and 64 of them ran 20% fast.
   */
  private readonly pacedUntil: Record<Direction, number> = { upstream: 0, downstream: 0 };

  constructor(
    readonly id: number,
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly proxy: FaultProxy,
    private readonly onClose: () => void
  ) {
    this.wire(client, upstream, 'upstream');
    this.wire(upstream, client, 'downstream');
    for (const [socket, toOther] of [
      [client, 'upstream'],
      [upstream, 'downstream']
    ] as const) {
      // A reset or failure on one side is passed on as a reset, after the bytes already read from it
      // (a server's last error message) have been delivered: what the peer would have seen.
      socket.on('error', () => void this.queues[toOther].then(() => this.destroy(true)));
      socket.on('close', () => {
        if (++this.socketsClosed === 2) this.finish();
      });
    }
  }

  /** A fault for this connection only, counted from now; null returns it to the proxy's fault. */
  setFault(fault: Fault | null): void {
    this.own = fault ? new FaultState(fault) : null;
    this.applyBlackhole();
  }

  /** RST both ways, now. */
  reset(): void {
    this.destroy(true);
  }

  /** FIN both ways, now. */
  cut(): void {
    this.destroy(false);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Reads, or stops reading, as the fault in force says (called when a fault changes). */
  applyBlackhole(): void {
    if (this.closed || this.upstream.connecting) return;
    const hold = this.state().fault.blackhole === true;
    for (const socket of [this.client, this.upstream]) {
      if (hold) socket.pause();
      else socket.resume();
    }
  }

  private state(): FaultState {
    return this.own ?? this.proxy.globalState();
  }

  private wire(from: net.Socket, to: net.Socket, direction: Direction) {
    let draining = false;
    // Latency: each chunk is due `delayMs` after it arrived. Bandwidth: slices of it follow each other
    // at `bytesPerSecond`. The chain keeps their order either way.
    const deliver = (step: () => void, transferMs = 0) => {
      const dueAt = Date.now() + (this.state().fault.delayMs ?? 0);
      this.queues[direction] = this.queues[direction].then(async () => {
        let readyAt = dueAt;
        if (transferMs > 0) {
          readyAt = Math.max(dueAt, this.pacedUntil[direction]) + transferMs;
          this.pacedUntil[direction] = readyAt;
        }
        const waitMs = readyAt - Date.now();
        if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
        if (!this.closed) step();
      });
    };
    const write = (slice: Buffer) => {
      if (slice.length > 0 && !to.write(slice) && !draining) {
        // Backpressure: stop reading until the slower side drains.
        draining = true;
        from.pause();
        to.once('drain', () => {
          draining = false;
          if (!this.state().fault.blackhole) from.resume();
        });
      }
    };
    from.on('data', (chunk: Buffer) => {
      const state = this.state();
      const { pass, cut } = state.take(direction, chunk.length);
      const passing = pass < chunk.length ? chunk.subarray(0, pass) : chunk;
      this.bytes[direction] += passing.length;
      this.proxy.bytes[direction] += passing.length;
      const cutWith = state.fault.cutWith ?? 'close';
      if (cut) {
        from.pause(); // nothing after the cut point is read
        return deliver(() => this.cutAfter(to, passing, cutWith));
      }
      const rate = state.fault.bytesPerSecond;
      if (!rate) return deliver(() => write(passing));
      for (let at = 0; at < passing.length; at += THROTTLE_SLICE_BYTES) {
        const slice = passing.subarray(at, at + THROTTLE_SLICE_BYTES);
        deliver(() => write(slice), (slice.length / rate) * 1000);
      }
    });
    from.on('end', () => deliver(() => to.end()));
  }

  /** Forwards the bytes before the cut point, then ends the connection. */
  private cutAfter(to: net.Socket, passing: Buffer, how: 'close' | 'reset') {
    this.closed = true; // nothing after the cut point is forwarded
    // A reset right behind the bytes before it arrives before the peer has read them, and the peer
    // then sees an orderly end instead: the reset waits a moment after the write.
    if (how === 'reset' && passing.length > 0)
      to.write(passing, () => setTimeout(() => this.endSockets(true), 5));
    else {
      if (passing.length > 0) to.write(passing);
      this.endSockets(how === 'reset', to);
    }
  }

  private destroy(reset: boolean) {
    if (this.closed) return;
    this.closed = true;
    this.endSockets(reset);
  }

  /** RST both sockets, or FIN (once `flush`'s pending writes are out). */
  private endSockets(reset: boolean, flush?: net.Socket) {
    for (const socket of [this.client, this.upstream]) {
      if (reset) {
        if (!socket.destroyed) socket.resetAndDestroy();
      } else if (socket === flush) socket.end(() => socket.destroy());
      else socket.destroy();
    }
  }

  private finish() {
    this.closed = true;
    this.onClose();
  }
}

export class FaultProxy {
  private global = new FaultState({});
  private readonly open = new Set<ProxyConnection>();
  private nextId = 1;
  private listeners: ((connection: ProxyConnection) => void)[] = [];
  /** Connections accepted so far, open or not. */
  accepted = 0;
  /** Bytes forwarded each way over all connections. */
  readonly bytes = { upstream: 0, downstream: 0 };

  private constructor(
    private readonly server: net.Server,
    private upstream: Upstream
  ) {}

  static async start(upstream: Upstream): Promise<FaultProxy> {
    const server = net.createServer({ pauseOnConnect: true });
    const proxy = new FaultProxy(server, upstream);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` for a sync service behind the proxy. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `url` (a postgres:// URL of the upstream) with its host and port replaced by the proxy's. */
  postgresUrl(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  /** Faults every connection without one of its own (open ones too), counted from now. */
  setFault(fault: Fault): void {
    this.global = new FaultState(fault);
    for (const c of this.open) c.applyBlackhole();
  }

  globalState(): FaultState {
    return this.global;
  }

  /** Where new connections go (a restarted service on another port). */
  setUpstream(upstream: Upstream): void {
    this.upstream = upstream;
  }

  /** Called for every accepted connection before any byte passes (e.g. to give it a fault of its own). */
  onConnection(listener: (connection: ProxyConnection) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  get connections(): readonly ProxyConnection[] {
    return [...this.open];
  }

  resetAll(): void {
    for (const c of this.open) c.reset();
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket) {
    this.accepted++;
    if (this.global.fault.refuse) {
      socket.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ ...this.upstream, noDelay: true });
    upstream.pause();
    socket.setNoDelay(true);
    const connection = new ProxyConnection(this.nextId++, socket, upstream, this, () =>
      this.open.delete(connection)
    );
    this.open.add(connection);
    for (const listener of this.listeners) listener(connection);
    // A refused upstream is what the client would have seen without the proxy: a reset.
    upstream.once('connect', () => connection.applyBlackhole());
  }
}

export const startFaultProxy = (upstream: Upstream) => FaultProxy.start(upstream);
