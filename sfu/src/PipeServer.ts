import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as mediasoupTypes from 'mediasoup/types';
import { RtpParameters, SfuPipeOpenRequest, type SfuPipeMessage } from '@mytaek1/contracts';
import { bearerOf, readBody, secretsEqual, sendProblem } from './http.ts';
import { createLogger } from './logger.ts';
import type { PipeListenOptions } from './OriginPipe.ts';
import type { Room } from './Room.ts';
import type { RoomRegistry } from './RoomRegistry.ts';
import { INGRESS_RECV_BUFFER_BYTES } from './socketBuffers.ts';

const logger = createLogger('PipeServer');

export type PipeServerOptions = {
  rooms: RoomRegistry;
  /** The shared secret other sfu instances present as bearer (TOKEN_SECRET). */
  secret: string;
  listen: PipeListenOptions;
  /** How often a line is sent when nothing else is, so that the edge can tell silence from death. */
  pingIntervalMs?: number;
  /** When this sfu is an edge itself: how long to wait for its own origin's producers before answering with what it has. */
  syncTimeoutMs?: number;
};

const MAX_REQUEST_BYTES = 16 * 1024;

/**
 * The origin end of sfu-to-sfu pipes (`POST SFU_PIPE_PATH`, see OriginPipe for the edge end and the
 * contract in @mytaek1/contracts). For each call: a PipeTransport on the show's origin router,
 * connected to the edge's; a pipe consumer per producer of the show, now and later, whose parameters
 * are streamed to the edge as newline-delimited JSON; everything closed when the call ends. An open
 * pipe keeps the show's room open, as a peer would.
 */
export class PipeServer {
  readonly #rooms: RoomRegistry;
  readonly #secret: string;
  readonly #listen: PipeListenOptions;
  readonly #pingIntervalMs: number;
  readonly #syncTimeoutMs: number;
  readonly #open = new Set<() => void>();
  #closed = false;

  static create(options: PipeServerOptions): PipeServer {
    return new PipeServer(options);
  }

  private constructor({ rooms, secret, listen, pingIntervalMs = 10_000, syncTimeoutMs = 5_000 }: PipeServerOptions) {
    this.#rooms = rooms;
    this.#secret = secret;
    this.#listen = listen;
    this.#pingIntervalMs = pingIntervalMs;
    this.#syncTimeoutMs = syncTimeoutMs;
  }

  get openPipes(): number {
    return this.#open.size;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.#closed) {
      sendProblem(response, 503, 'Shutting down');
      return;
    }
    const bearer = bearerOf(request);
    if (!bearer || !secretsEqual(bearer, this.#secret)) {
      sendProblem(response, 401, 'Only another sfu of this deployment may open a pipe');
      return;
    }
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) {
      sendProblem(response, 413, 'Request too large');
      return;
    }
    let parsed: SfuPipeOpenRequest;
    try {
      parsed = SfuPipeOpenRequest.parse(JSON.parse(body));
    } catch {
      sendProblem(response, 400, 'Not a pipe request');
      return;
    }
    if (this.#rooms.hasEnded(parsed.show)) {
      sendProblem(response, 410, 'The show has ended');
      return;
    }
    let room: Room;
    try {
      room = await this.#rooms.getOrCreate(parsed.show);
    } catch (error) {
      logger.error('no room for a pipe', { show: parsed.show, error });
      sendProblem(response, 503, 'The show cannot be opened here');
      return;
    }
    await this.#serve(room, parsed, response);
  }

  /** Ends every pipe (on shutdown). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const end of [...this.#open]) end();
  }

  async #serve(room: Room, { show, ip, port, srtpParameters, edge }: SfuPipeOpenRequest, response: ServerResponse): Promise<void> {
    const release = room.retain();
    let transport: mediasoupTypes.PipeTransport;
    try {
      transport = await room.originRouter.createPipeTransport({
        listenInfo: { protocol: 'udp', ip: this.#listen.ip, announcedAddress: this.#listen.announcedAddress, recvBufferSize: INGRESS_RECV_BUFFER_BYTES },
        enableSrtp: true,
        enableRtx: true,
      });
      await transport.connect({ ip, port, srtpParameters });
    } catch (error) {
      release();
      logger.error('could not open a pipe', { show, edge, error });
      sendProblem(response, 503, 'The pipe could not be opened');
      return;
    }

    let ended = false;
    const write = (message: SfuPipeMessage): void => {
      if (!ended && !response.writableEnded) response.write(`${JSON.stringify(message)}\n`);
    };
    const ping = setInterval(() => write({ type: 'ping' }), this.#pingIntervalMs);
    // Producers are piped one at a time, in the order they appeared.
    let queue: Promise<void> = Promise.resolve();
    const pipeProducer = (producer: mediasoupTypes.Producer): void => {
      queue = queue.then(async () => {
        if (ended || producer.closed) return;
        try {
          const consumer = await transport.consume({ producerId: producer.id });
          write({ type: 'producer', producerId: producer.id, kind: consumer.kind, rtpParameters: RtpParameters.parse(consumer.rtpParameters), paused: consumer.producerPaused });
          consumer.on('producerclose', () => write({ type: 'producerClosed', producerId: producer.id }));
          consumer.on('producerpause', () => write({ type: 'producerPaused', producerId: producer.id }));
          consumer.on('producerresume', () => write({ type: 'producerResumed', producerId: producer.id }));
        } catch (error) {
          if (!ended) logger.warn('could not pipe a producer', { show, edge, producerId: producer.id, error });
        }
      });
    };
    const end = (): void => {
      if (ended) return;
      // The room closing closes this pipe's transport before it says so: tell the edge why first.
      const reason = room.closeReason;
      if (reason && reason !== 'idle') write({ type: 'closed', reason });
      ended = true;
      this.#open.delete(end);
      clearInterval(ping);
      room.off('newproducer', pipeProducer);
      room.off('closed', end);
      transport.close();
      release();
      response.end();
      logger.info('pipe closed', { show, edge });
    };
    this.#open.add(end);
    room.on('newproducer', pipeProducer);
    room.once('closed', end);
    // The origin router closing (its worker died) ends the pipe: the edge calls again and finds the new one.
    transport.observer.once('close', end);
    // The response closes when the edge hangs up (the request's own 'close' only says its body was read).
    response.once('close', end);

    response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    response.flushHeaders();
    write({ type: 'ready', ip: transport.tuple.localAddress ?? this.#listen.ip, port: transport.tuple.localPort, srtpParameters: transport.srtpParameters! });
    // This sfu may itself be an edge (a tree of several levels): `synced` must mean what its origin had too.
    await room.producersKnown(this.#syncTimeoutMs);
    if (ended) return;
    for (const producer of room.producers) pipeProducer(producer);
    queue = queue.then(() => write({ type: 'synced' }));
    logger.info('pipe opened', { show, edge, producers: room.producers.length });
  }
}
