/**
 * The realtime room of one show on Cloudflare Workers: a Durable Object that holds the show's
 * WebSockets through the hibernation API, so an idle room costs nothing while sockets stay open.
 * Today it tells every socket how many are watching; chat, hearts, pins and stock build on it.
 *
 * Written against the runtime's structural API (no `cloudflare:workers` import) so the same file
 * type-checks beside the Node code.
 */
export interface HibernatingWebSocket {
  send(message: string): void;
  close(code?: number, reason?: string): void;
}

export interface DurableObjectContext {
  acceptWebSocket(socket: HibernatingWebSocket): void;
  getWebSockets(): HibernatingWebSocket[];
}

interface WebSocketPairConstructor {
  new (): { 0: HibernatingWebSocket; 1: HibernatingWebSocket };
}
declare const WebSocketPair: WebSocketPairConstructor;

export class ShowRoomObject {
  readonly #ctx: DurableObjectContext;

  constructor(ctx: DurableObjectContext) {
    this.#ctx = ctx;
  }

  async fetch(request: Request): Promise<Response> {
    // Reachable only from this Worker's own code (the router forwards WebSocket upgrades alone).
    if (request.method === 'POST' && new URL(request.url).pathname === '/publish') {
      this.#broadcast(await request.text());
      return new Response(null, { status: 204 });
    }
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response(JSON.stringify({ viewers: this.#ctx.getWebSockets().length }), { headers: { 'content-type': 'application/json' } });
    }
    const pair = new WebSocketPair();
    this.#ctx.acceptWebSocket(pair[1]);
    this.#broadcastViewers();
    // Status 101 with the client end, as the Workers runtime expects for an accepted upgrade.
    return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
  }

  webSocketClose(socket: HibernatingWebSocket, code: number): void {
    // 1005 and 1006 are reserved for "no status" and "abnormal": they may not be sent back.
    socket.close(code === 1005 || code === 1006 ? 1000 : code);
    this.#broadcastViewers(socket);
  }

  webSocketError(socket: HibernatingWebSocket): void {
    this.#broadcastViewers(socket);
  }

  /** `leaving` may still be listed while its close event runs: it is not counted. */
  #broadcastViewers(leaving?: HibernatingWebSocket): void {
    const count = this.#ctx.getWebSockets().filter((s) => s !== leaving).length;
    this.#broadcast(JSON.stringify({ type: 'viewers', count }), leaving);
  }

  #broadcast(message: string, except?: HibernatingWebSocket): void {
    for (const socket of this.#ctx.getWebSockets()) {
      if (socket === except) continue;
      try {
        socket.send(message);
      } catch {
        // A socket closing right now is counted out by its own close event.
      }
    }
  }
}
