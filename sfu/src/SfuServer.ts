import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Id, verifyToken, type Problem } from '@mytaek1/contracts';
import type { SfuConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { RoomRegistry } from './RoomRegistry.ts';
import { SignalingServer } from './SignalingServer.ts';
import type { WorkerPool } from './WorkerPool.ts';

const logger = createLogger('SfuServer');

export type SfuServerOptions = {
  config: Pick<SfuConfig, 'http' | 'rtc' | 'tokenSecret' | 'emptyRoomGraceMs'>;
  pool: WorkerPool;
  /** See SignalingServerOptions. */
  authTimeoutMs?: number;
};

const END_SHOW_PATH = /^\/shows\/([^/]+)\/end$/;

/**
 * The sfu's one port: WebSocket signaling at `/ws`, `GET /healthz`, `GET /stats`, and
 * `POST /shows/:id/end` (with a publisher's or moderator's token for that show). WHIP and WHEP
 * will join them here.
 */
export class SfuServer {
  readonly rooms: RoomRegistry;
  readonly #pool: WorkerPool;
  readonly #tokenSecret: string;
  readonly #signaling: SignalingServer;
  readonly #http: Server;
  #url = '';
  #closing: Promise<void> | undefined;

  static async create({ config, pool, authTimeoutMs }: SfuServerOptions): Promise<SfuServer> {
    const rooms = RoomRegistry.create({
      pool,
      listen: { ip: config.rtc.listenIp, announcedAddress: config.rtc.announcedAddress, portRange: config.rtc.portRange },
      emptyRoomGraceMs: config.emptyRoomGraceMs,
    });
    const signaling = SignalingServer.create({ rooms, tokenSecret: config.tokenSecret, authTimeoutMs });
    const server = new SfuServer(pool, rooms, signaling, config.tokenSecret);
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(config.http.port, config.http.host, () => {
        server.#http.off('error', reject);
        const { address, port, family } = server.#http.address() as AddressInfo;
        server.#url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
        resolve();
      });
    });
    return server;
  }

  private constructor(pool: WorkerPool, rooms: RoomRegistry, signaling: SignalingServer, tokenSecret: string) {
    this.#pool = pool;
    this.rooms = rooms;
    this.#signaling = signaling;
    this.#tokenSecret = tokenSecret;
    this.#http = createServer((request, response) => {
      this.#route(request, response).catch((error: unknown) => {
        logger.error('request failed', { url: request.url, error });
        if (!response.headersSent) sendProblem(response, 500, 'Internal error');
        else response.destroy();
      });
    });
    this.#http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(request, socket, head));
  }

  /** `http://host:port`, with the port actually bound (the configured one may be 0). */
  get url(): string {
    return this.#url;
  }

  /** Tells every peer the sfu is going away, then stops listening. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.rooms.close();
      await this.#signaling.close();
      await new Promise<void>((resolve) => {
        this.#http.close(() => resolve());
        this.#http.closeAllConnections();
      });
    })();
    return this.#closing;
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://sfu.invalid');
    if (url.pathname === '/healthz' && request.method === 'GET') {
      const healthy = this.#pool.size > 0;
      sendJson(response, healthy ? 200 : 503, { status: healthy ? 'ok' : 'no_workers', workers: this.#pool.size, rooms: this.rooms.size });
      return;
    }
    if (url.pathname === '/stats' && request.method === 'GET') {
      sendJson(response, 200, await this.rooms.getStats());
      return;
    }
    const endShow = END_SHOW_PATH.exec(url.pathname);
    if (endShow && request.method === 'POST') {
      await this.#endShow(request, response, endShow[1] ?? '');
      return;
    }
    sendProblem(response, 404, 'Not found');
  }

  /** Ends a show: only its publisher or a moderator of it (as their token says) may. */
  async #endShow(request: IncomingMessage, response: ServerResponse, showParam: string): Promise<void> {
    const show = Id.safeParse(showParam);
    if (!show.success) {
      sendProblem(response, 400, 'Not a show id');
      return;
    }
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      sendProblem(response, 401, 'Missing bearer token');
      return;
    }
    const verified = await verifyToken(token, this.#tokenSecret, { audience: 'sfu' });
    if (!verified.ok) {
      sendProblem(response, 401, 'Invalid token', verified.reason);
      return;
    }
    const { role } = verified.claims;
    if (verified.claims.show !== show.data || (role !== 'publisher' && role !== 'moderator')) {
      sendProblem(response, 403, 'This token may not end this show');
      return;
    }
    this.rooms.endShow(show.data);
    response.writeHead(204).end();
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://sfu.invalid');
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#signaling.handleUpgrade(request, socket, head, url);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Errors in the project's one shape: RFC 9457 problem details. */
function sendProblem(response: ServerResponse, status: number, title: string, detail?: string): void {
  const problem: Problem = { type: 'about:blank', title, status, ...(detail ? { detail } : {}) };
  response.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
}
