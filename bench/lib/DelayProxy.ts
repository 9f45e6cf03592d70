/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for `oneWayMs` in each direction: a server behind
 * it is `2 × oneWayMs` of round trip away, as over a real network (this kernel has no netem). Only
 * TCP: HTTP and WebSockets feel the delay, WebRTC media (UDP) does not.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class DelayProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** The proxied server's address: the target's scheme, on the proxy's port. */
  url = '';

  private constructor(target: URL, oneWayMs: number) {
    this.#server = createServer((client) => {
      const server = connect(Number(target.port), target.hostname);
      for (const socket of [client, server]) {
        socket.setNoDelay(true);
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          server.destroy();
        });
      }
      pipeDelayed(client, server, oneWayMs);
      pipeDelayed(server, client, oneWayMs);
    });
  }

  /** Proxies `target` (`http://127.0.0.1:port`, `ws://…`). */
  static async create(target: string, oneWayMs: number): Promise<DelayProxy> {
    const upstream = new URL(target);
    const proxy = new DelayProxy(upstream, oneWayMs);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    const address = proxy.#server.address();
    if (typeof address !== 'object' || !address) throw new Error('the delay proxy has no address');
    proxy.url = `${upstream.protocol}//127.0.0.1:${address.port}`;
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Forwards `from` to `to`, each chunk `delayMs` later, in order; the end follows the last chunk. */
function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  from.on('data', (chunk) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.once('end', () => setTimeout(() => to.end(), delayMs));
}
