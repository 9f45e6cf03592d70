import { randomUUID } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as mediasoupTypes from 'mediasoup/types';
import { Id, PLAIN_EGRESS_NOT_READY, PlainEgressRequest, type MediaKind, type PlainEgressResponse } from '@mytaek1/contracts';
import { bearerOf, readBody, secretsEqual, sendJson, sendProblem } from './http.ts';
import { createLogger } from './logger.ts';
import type { Room } from './Room.ts';
import type { RoomRegistry } from './RoomRegistry.ts';

const logger = createLogger('PlainEgressServer');

export type PlainEgressServerOptions = {
  rooms: RoomRegistry;
  /** The shared secret the transcoder presents as bearer (TOKEN_SECRET). */
  secret: string;
  /** Where the egress PlainTransports bind: the sfu's RTC listen address and port range. */
  listen: { ip: string; portRange: { min: number; max: number } };
};

type EgressLeg = { kind: MediaKind; transport: mediasoupTypes.PlainTransport; consumer: mediasoupTypes.Consumer; port: number };

type Egress = {
  id: string;
  showId: string;
  legs: EgressLeg[];
  close: () => void;
};

const EGRESS_PATH = /^\/shows\/([^/]+)\/plain-egress(?:\/([^/]+)(\/resume)?)?\/?$/;
const MAX_REQUEST_BYTES = 4 * 1024;

/**
 * The sfu's end of plain-RTP egress (see plain-rtp.ts in contracts): the transcoder asks for a show's
 * media on two UDP ports of its own, for FFmpeg's RTP demuxer (video alone when the show has no audio). Per request, one PlainTransport per kind
 * (RTP and RTCP on separate ports, as FFmpeg expects) connected to those ports, and a consumer of the
 * show's newest producer of that kind, at the top simulcast layer, paused until `/resume` (FFmpeg must
 * be listening first, or the first keyframe is lost). The egress ends on DELETE, when a producer it
 * consumes closes (the publisher left: the transcoder asks again for the next one), or with the room.
 */
export class PlainEgressServer {
  readonly #rooms: RoomRegistry;
  readonly #secret: string;
  readonly #listen: PlainEgressServerOptions['listen'];
  readonly #egresses = new Map<string, Egress>();
  #closed = false;

  static create(options: PlainEgressServerOptions): PlainEgressServer {
    return new PlainEgressServer(options);
  }

  private constructor({ rooms, secret, listen }: PlainEgressServerOptions) {
    this.#rooms = rooms;
    this.#secret = secret;
    this.#listen = listen;
  }

  /** Open egresses, by id (for tests and stats). */
  get egresses(): ReadonlyMap<string, { showId: string }> {
    return this.#egresses;
  }

  /** True when the path is an egress path (whether or not the request was valid): it has been answered. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const match = EGRESS_PATH.exec(url.pathname);
    if (!match) return false;
    const [, showParam = '', egressId, resume] = match;
    const bearer = bearerOf(request);
    if (!bearer || !secretsEqual(bearer, this.#secret)) {
      sendProblem(response, 401, 'Only the transcoder of this deployment may open an egress', undefined, { 'www-authenticate': 'Bearer' });
      return true;
    }
    const show = Id.safeParse(showParam);
    if (!show.success) {
      sendProblem(response, 400, 'Not a show id');
      return true;
    }
    if (egressId === undefined) {
      if (request.method !== 'POST') sendProblem(response, 405, 'Method not allowed', undefined, { allow: 'POST' });
      else await this.#open(request, response, show.data);
      return true;
    }
    const egress = this.#egresses.get(egressId);
    const allowed = resume ? 'POST' : 'DELETE';
    if (request.method !== allowed) {
      sendProblem(response, 405, 'Method not allowed', undefined, { allow: allowed });
    } else if (!egress || egress.showId !== show.data) {
      sendProblem(response, 404, 'No such egress');
    } else if (resume) {
      await this.#resume(egress);
      response.writeHead(204).end();
    } else {
      egress.close();
      response.writeHead(204).end();
    }
    return true;
  }

  /** Ends every egress (on shutdown; the rooms closing would end them too). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const egress of [...this.#egresses.values()]) egress.close();
  }

  async #open(request: IncomingMessage, response: ServerResponse, showId: string): Promise<void> {
    if (this.#closed) {
      sendProblem(response, 503, 'Shutting down');
      return;
    }
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) {
      sendProblem(response, 413, 'Request too large');
      return;
    }
    let parsed: PlainEgressRequest;
    try {
      parsed = PlainEgressRequest.parse(JSON.parse(body));
    } catch {
      sendProblem(response, 400, 'Not an egress request');
      return;
    }
    const ports = [parsed.video.port, parsed.video.port + 1, parsed.audio.port, parsed.audio.port + 1];
    if (ports.some((port) => port > 65535) || new Set(ports).size !== ports.length) {
      sendProblem(response, 400, 'The video and audio ports (and each port + 1, for RTCP) must be four distinct ports');
      return;
    }
    const room = this.#rooms.get(showId);
    const video = room && newestProducer(room, 'video');
    if (!room || room.closed || !video) {
      sendProblem(response, 409, 'The show has no video to egress yet', PLAIN_EGRESS_NOT_READY, { 'retry-after': '1' });
      return;
    }
    // A seller on camera without a microphone still gets HLS and a replay: the transcoder adds silence.
    const audio = newestProducer(room, 'audio');
    const egress = await this.#create(room, parsed, { video, ...(audio ? { audio } : {}) });
    const videoLeg = egress.legs.find((leg) => leg.kind === 'video')!;
    const audioLeg = egress.legs.find((leg) => leg.kind === 'audio');
    const body200: PlainEgressResponse = {
      egressId: egress.id,
      showId,
      sdp: egressSdp(parsed.ip, egress.legs),
      video: legSummary(videoLeg),
      ...(audioLeg ? { audio: legSummary(audioLeg) } : {}),
    };
    sendJson(response, 201, body200);
  }

  async #create(room: Room, target: PlainEgressRequest, producers: { video: mediasoupTypes.Producer; audio?: mediasoupTypes.Producer }): Promise<Egress> {
    const router = room.originRouter;
    const rtpCapabilities = egressCapabilities(router.rtpCapabilities);
    const id = randomUUID();
    const legs: EgressLeg[] = [];
    let closed = false;
    const egress: Egress = {
      id,
      showId: room.showId,
      legs,
      close: () => {
        if (closed) return;
        closed = true;
        room.off('closed', egress.close);
        for (const leg of legs) leg.transport.close();
        this.#egresses.delete(id);
        logger.info('egress closed', { showId: room.showId, egressId: id });
      },
    };
    try {
      for (const kind of ['video', 'audio'] as const) {
        const producer = producers[kind];
        if (!producer) continue;
        const port = target[kind].port;
        const transport = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: this.#listen.ip, portRange: this.#listen.portRange },
          // FFmpeg's RTP demuxer reads RTCP on port + 1.
          rtcpMux: false,
          comedia: false,
          appData: { egressId: id },
        });
        // Pushed first, so that a failure below still closes it.
        const leg: EgressLeg = { kind, transport, consumer: undefined as unknown as mediasoupTypes.Consumer, port };
        legs.push(leg);
        await transport.connect({ ip: target.ip, port, rtcpPort: port + 1 });
        // No preferred layers: mediasoup starts a simulcast consumer at the highest, which is what a recording wants.
        leg.consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, enableRtx: false });
        // The publisher left (or its transport went): this egress has nothing more to send.
        leg.consumer.observer.once('close', egress.close);
      }
    } catch (error) {
      egress.close();
      throw error;
    }
    if (room.closed) {
      egress.close();
      throw new Error(`room ${room.showId} closed while its egress was being set up`);
    }
    room.once('closed', egress.close);
    this.#egresses.set(id, egress);
    logger.info('egress opened', { showId: room.showId, egressId: id, ip: target.ip, video: target.video.port, audio: producers.audio ? target.audio.port : 'none' });
    return egress;
  }

  async #resume(egress: Egress): Promise<void> {
    for (const { consumer } of egress.legs) {
      if (consumer.closed) continue;
      await consumer.resume();
      // FFmpeg can decode nothing before a keyframe; a browser's encoder sends one only when asked.
      if (consumer.kind === 'video') await consumer.requestKeyFrame();
    }
  }
}

/** The show's newest open producer of a kind (a publisher that reconnected replaces its old one). */
function newestProducer(room: Room, kind: MediaKind): mediasoupTypes.Producer | undefined {
  return room.producers.filter((producer) => producer.kind === kind && !producer.closed).at(-1);
}

/**
 * What FFmpeg receives: the router's codecs without RTX (it sends no NACKs) and no header extensions
 * (it would ignore them).
 */
function egressCapabilities(routerCapabilities: mediasoupTypes.RtpCapabilities): mediasoupTypes.RtpCapabilities {
  return {
    codecs: (routerCapabilities.codecs ?? [])
      .filter((codec) => !codec.mimeType.toLowerCase().endsWith('/rtx'))
      .map((codec) => ({ ...codec, rtcpFeedback: [] })),
    headerExtensions: [],
  };
}

function legSummary(leg: EgressLeg): PlainEgressResponse['video'] {
  const codec = leg.consumer.rtpParameters.codecs[0];
  const ssrc = leg.consumer.rtpParameters.encodings?.[0]?.ssrc;
  if (!codec || ssrc === undefined) throw new Error(`the ${leg.kind} egress consumer has no codec or SSRC`);
  return { mimeType: codec.mimeType, payloadType: codec.payloadType, ssrc };
}

/**
 * An SDP description of what the egress sends, as FFmpeg's SDP demuxer reads it: one m-line per kind
 * on the port FFmpeg listens on, RTCP on the next port, the consumer's payload type and format.
 */
function egressSdp(ip: string, legs: readonly EgressLeg[]): string {
  const family = isIPv6(ip) ? 'IP6' : 'IP4';
  const lines = ['v=0', `o=- 0 0 IN ${family} ${ip}`, 's=MyTaek1 plain egress', `c=IN ${family} ${ip}`, 't=0 0'];
  for (const leg of legs) {
    const codec = leg.consumer.rtpParameters.codecs[0];
    if (!codec) throw new Error(`the ${leg.kind} egress consumer has no codec`);
    const [, encodingName = ''] = codec.mimeType.split('/');
    const channels = leg.kind === 'audio' && codec.channels && codec.channels > 1 ? `/${codec.channels}` : '';
    lines.push(`m=${leg.kind} ${leg.port} RTP/AVP ${codec.payloadType}`, `a=rtcp:${leg.port + 1}`, `a=rtpmap:${codec.payloadType} ${encodingName}/${codec.clockRate}${channels}`);
    const fmtp = Object.entries(codec.parameters ?? {}).map(([key, value]) => `${key}=${String(value)}`);
    if (fmtp.length) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
