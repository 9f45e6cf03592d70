import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Id, SFU_PIPE_PATH, verifyToken } from '@mytaek1/contracts';
import type { SfuConfig } from './config.ts';
import { bearerOf, sendJson, sendProblem } from './http.ts';
import { HttpStreamKeyVerifier } from '@mytaek1/contracts';
import { createLogger } from './logger.ts';
import { PipeServer } from './PipeServer.ts';
import { PlainIngestServer } from './PlainIngestServer.ts';
import { PlainEgressServer } from './PlainEgressServer.ts';
import { RoomRegistry } from './RoomRegistry.ts';
import { SfuMediaNotifier } from './SfuMediaNotifier.ts';
import { SignalingServer } from './SignalingServer.ts';
import type { StreamKeyVerifier } from '@mytaek1/contracts';
import { WhipWhepServer } from './WhipWhepServer.ts';
import type { WorkerPool } from './WorkerPool.ts';

const logger = createLogger('SfuServer');

export type SfuServerOptions = {
  config: Pick<SfuConfig, 'http' | 'rtc' | 'tokenSecret' | 'emptyRoomGraceMs' | 'edgeApiUrl' | 'maxConsumersPerRouter' | 'originUrl' | 'pipe'> &
    Partial<Pick<SfuConfig, 'transcoderUrl'>>;
  /** See SfuMediaNotifierOptions (tests shorten the grace). */
  mediaNoticeGraceMs?: number;
  /** See SfuMediaNotifierOptions.videoOnlyAfterMs. */
  mediaNoticeVideoOnlyMs?: number;
  pool: WorkerPool;
  /** See SignalingServerOptions. */
  authTimeoutMs?: number;
  /** How WHIP checks stream keys; by default the edge API at `config.edgeApiUrl`. */
  streamKeys?: StreamKeyVerifier;
  /** See WhipWhepServerOptions. */
  whipConnectTimeoutMs?: number;
};

const END_SHOW_PATH = /^\/shows\/([^/]+)\/end$/;

/**
 * The sfu's one port: WebSocket signaling at `/ws`, WHIP at `/whip/:show` and WHEP at `/whep/:show`
 * (WhipWhepServer), `GET /healthz`, `GET /stats`, `POST /shows/:id/end` (with a publisher's or
 * moderator's token for that show), and `POST SFU_PIPE_PATH` for edge sfu instances (PipeServer).
 */
export class SfuServer {
  readonly rooms: RoomRegistry;
  readonly whipWhep: WhipWhepServer;
  readonly pipes: PipeServer;
  /** Plain-RTP egress to the transcoder (`/shows/:id/plain-egress`). */
  readonly egress: PlainEgressServer;
  /** Set when TRANSCODER_URL is: tells the transcoder when shows get and lose WebRTC media. */
  readonly mediaNotifier: SfuMediaNotifier | undefined;
  /** Plain RTP ingest from the transcoder (`/shows/:id/plain-ingest`), set by create(). */
  #plainIngest: PlainIngestServer | undefined;
  readonly #pool: WorkerPool;
  readonly #tokenSecret: string;
  readonly #signaling: SignalingServer;
  readonly #http: Server;
  #url = '';
  #closing: Promise<void> | undefined;

  static async create({ config, pool, authTimeoutMs, streamKeys, whipConnectTimeoutMs, mediaNoticeGraceMs, mediaNoticeVideoOnlyMs }: SfuServerOptions): Promise<SfuServer> {
    const pipeListen = { ip: config.pipe.listenIp, announcedAddress: config.pipe.announcedAddress };
    // Every show gets LL-HLS and a replay: the transcoder hears when a publisher's media comes and goes.
    let server: SfuServer | undefined;
    const notifier = config.transcoderUrl
      ? SfuMediaNotifier.create({ transcoderUrl: config.transcoderUrl, secret: config.tokenSecret, sfuUrl: () => server?.url ?? '', endedGraceMs: mediaNoticeGraceMs, videoOnlyAfterMs: mediaNoticeVideoOnlyMs })
      : undefined;
    const rooms = RoomRegistry.create({
      pool,
      listen: { ip: config.rtc.listenIp, announcedAddress: config.rtc.announcedAddress, portRange: config.rtc.portRange },
      emptyRoomGraceMs: config.emptyRoomGraceMs,
      maxConsumersPerRouter: config.maxConsumersPerRouter,
      origin: config.originUrl ? { url: config.originUrl, secret: config.tokenSecret, pipeListen } : undefined,
      onRoom: notifier ? (room) => notifier.watch(room) : undefined,
    });
    const signaling = SignalingServer.create({ rooms, tokenSecret: config.tokenSecret, authTimeoutMs });
    const whipWhep = WhipWhepServer.create({
      rooms,
      tokenSecret: config.tokenSecret,
      streamKeys: streamKeys ?? HttpStreamKeyVerifier.create({ edgeApiUrl: config.edgeApiUrl, tokenSecret: config.tokenSecret }),
      connectTimeoutMs: whipConnectTimeoutMs,
    });
    const pipes = PipeServer.create({ rooms, secret: config.tokenSecret, listen: pipeListen });
    const egress = PlainEgressServer.create({ rooms, secret: config.tokenSecret, listen: { ip: config.rtc.listenIp, portRange: config.rtc.portRange } });
    server = new SfuServer(pool, rooms, signaling, whipWhep, pipes, egress, notifier, config.tokenSecret);
    const listening = server;
    server.#plainIngest = PlainIngestServer.create({
      rooms,
      tokenSecret: config.tokenSecret,
      listen: { ip: config.rtc.listenIp, announcedAddress: config.rtc.announcedAddress, portRange: config.rtc.portRange },
    });
    await new Promise<void>((resolve, reject) => {
      listening.#http.once('error', reject);
      listening.#http.listen(config.http.port, config.http.host, () => {
        listening.#http.off('error', reject);
        const { address, port, family } = listening.#http.address() as AddressInfo;
        listening.#url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
        resolve();
      });
    });
    return listening;
  }

  private constructor(
    pool: WorkerPool,
    rooms: RoomRegistry,
    signaling: SignalingServer,
    whipWhep: WhipWhepServer,
    pipes: PipeServer,
    egress: PlainEgressServer,
    mediaNotifier: SfuMediaNotifier | undefined,
    tokenSecret: string,
  ) {
    this.#pool = pool;
    this.rooms = rooms;
    this.whipWhep = whipWhep;
    this.pipes = pipes;
    this.egress = egress;
    this.mediaNotifier = mediaNotifier;
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

  get plainIngest(): PlainIngestServer {
    if (!this.#plainIngest) throw new Error('the sfu server is not created yet');
    return this.#plainIngest;
  }

  /** `http://host:port`, with the port actually bound (the configured one may be 0). */
  get url(): string {
    return this.#url;
  }

  /** Tells every peer the sfu is going away, then stops listening. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.pipes.close();
      this.#plainIngest?.close();
      this.egress.close();
      this.whipWhep.close();
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
      sendJson(response, 200, this.plainIngest.withIngestStats(await this.rooms.getStats()));
      return;
    }
    if (await this.whipWhep.handle(request, response, url)) return;
    if (await this.plainIngest.handle(request, response, url)) return;
    if (await this.egress.handle(request, response, url)) return;
    if (url.pathname === SFU_PIPE_PATH && request.method === 'POST') {
      await this.pipes.handle(request, response);
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
    const token = bearerOf(request);
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
