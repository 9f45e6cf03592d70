import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as mediasoupTypes from 'mediasoup/types';
import {
  Id,
  newId,
  PlainIngestRequest,
  type PlainIngestEndpoint,
  type PlainIngestResponse,
  type PlainIngestSource,
  type PlainIngestStats,
  type SfuStats,
} from '@mytaek1/contracts';
import { bearerOf, readBody, secretsEqual, sendJson, sendProblem } from './http.ts';
import { HttpRefusal } from './HttpRefusal.ts';
import { createLogger } from './logger.ts';
import type { Room } from './Room.ts';
import type { RoomRegistry } from './RoomRegistry.ts';
import { INGRESS_RECV_BUFFER_BYTES } from './socketBuffers.ts';

const logger = createLogger('PlainIngestServer');

/** The owner the show's Room knows plain ingest producers by (other parts tell them from a publisher's by it). */
export const PLAIN_INGEST_OWNER = 'plain-ingest';

export type PlainIngestServerOptions = {
  rooms: RoomRegistry;
  /** The shared TOKEN_SECRET: the transcoder sends it as a bearer. */
  tokenSecret: string;
  /** Where the ingest's UDP sockets listen; the transcoder's FFmpeg sends there. */
  listen: { ip: string; announcedAddress: string | undefined; portRange: { min: number; max: number } };
};

const COLLECTION = /^\/shows\/([^/]+)\/plain-ingest\/?$/;
const ITEM = /^\/shows\/([^/]+)\/plain-ingest\/([^/]+)$/;
const MAX_BODY_BYTES = 16 * 1024;

/**
 * What the show's router routes (mediaCodecs.ts): the producer is declared with it whatever
 * baseline or main profile FFmpeg said it sends. mediasoup matches H.264 by profile, so a main
 * producer could not be routed at all; browsers' WebRTC H.264 decoders take main as well
 * (the transcoder re-encodes what they cannot: high profile, B-frames).
 */
const ROUTED_PROFILE_LEVEL_ID = '42e01f';
/** constrained baseline / baseline (0x42) and main (0x4d). */
const FORWARDABLE_PROFILE = /^(42|4d)/i;

type Ingest = {
  readonly id: string;
  readonly showId: string;
  readonly room: Room;
  readonly transports: mediasoupTypes.PlainTransport[];
  readonly profileLevelId: string;
  readonly source: PlainIngestSource | undefined;
  /** Lets go of the room: its hold, and the listeners this ingest put on it. */
  readonly release: () => void;
  closed: boolean;
};

/**
 * Plain RTP ingest on the sfu's HTTP port (packages/contracts/src/plain-rtp.ts): the transcoder
 * forwards an OBS show it receives over RTMP as RTP from FFmpeg, into one comedia PlainTransport per
 * kind, whose producers join the show's Room like a browser publisher's. One ingest per show; it
 * holds the room open, and goes when it is DELETEd, replaced, or when the room or the sfu closes.
 */
export class PlainIngestServer {
  readonly #rooms: RoomRegistry;
  readonly #tokenSecret: string;
  readonly #listen: PlainIngestServerOptions['listen'];
  /** By show: a show has at most one. */
  readonly #ingests = new Map<string, Ingest>();
  #closed = false;

  static create(options: PlainIngestServerOptions): PlainIngestServer {
    return new PlainIngestServer(options);
  }

  private constructor({ rooms, tokenSecret, listen }: PlainIngestServerOptions) {
    this.#rooms = rooms;
    this.#tokenSecret = tokenSecret;
    this.#listen = listen;
  }

  /** The show's ingest as /stats lists it. */
  statsOf(showId: string): PlainIngestStats | undefined {
    const ingest = this.#ingests.get(showId);
    if (!ingest) return undefined;
    return { ingestId: ingest.id, profileLevelId: ingest.profileLevelId, ...(ingest.source ? { source: ingest.source } : {}) };
  }

  /** Adds each show's ingest to the sfu's stats. */
  withIngestStats(stats: SfuStats): SfuStats {
    return {
      ...stats,
      shows: stats.shows.map((show) => {
        const ingest = this.statsOf(show.show);
        return ingest ? { ...show, ingest } : show;
      }),
    };
  }

  /** The ids of the shows that have an ingest, for tests. */
  get showIds(): string[] {
    return [...this.#ingests.keys()];
  }

  /** True when the path is a plain-ingest one (whether or not the request was valid): it has been answered. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const collection = COLLECTION.exec(url.pathname);
    const item = collection ? undefined : ITEM.exec(url.pathname);
    if (!collection && !item) return false;
    try {
      if (!this.#authorized(request)) throw new HttpRefusal(401, 'This endpoint is for the transcoder', { 'www-authenticate': 'Bearer' });
      if (collection) {
        if (request.method !== 'POST') throw new HttpRefusal(405, 'Method not allowed', { allow: 'POST' });
        await this.#create(request, response, decodeURIComponent(collection[1] ?? ''));
      } else if (item) {
        if (request.method !== 'DELETE') throw new HttpRefusal(405, 'Method not allowed', { allow: 'DELETE' });
        this.#delete(response, decodeURIComponent(item[1] ?? ''), decodeURIComponent(item[2] ?? ''));
      }
    } catch (error) {
      if (response.headersSent) response.destroy();
      else if (error instanceof HttpRefusal) sendProblem(response, error.status, error.message, undefined, error.headers);
      else {
        logger.error('plain ingest request failed', { method: request.method, path: url.pathname, error });
        sendProblem(response, 500, 'Internal error');
      }
    }
    return true;
  }

  /** Closes every ingest (on shutdown). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ingest of [...this.#ingests.values()]) this.#closeIngest(ingest, 'the sfu is shutting down');
  }

  #authorized(request: IncomingMessage): boolean {
    const bearer = bearerOf(request);
    return bearer !== undefined && secretsEqual(bearer, this.#tokenSecret);
  }

  async #create(request: IncomingMessage, response: ServerResponse, showParam: string): Promise<void> {
    if (this.#closed) throw new HttpRefusal(503, 'Shutting down');
    const show = Id.safeParse(showParam);
    if (!show.success) throw new HttpRefusal(400, 'Not a show id');
    const text = await readBody(request, MAX_BODY_BYTES);
    if (text === undefined) throw new HttpRefusal(413, 'The request is too large');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new HttpRefusal(400, 'The body is not JSON');
    }
    const parsed = PlainIngestRequest.safeParse(json);
    if (!parsed.success) throw new HttpRefusal(400, `Invalid plain ingest request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
    const body = parsed.data;
    if (!FORWARDABLE_PROFILE.test(body.video.profileLevelId)) {
      throw new HttpRefusal(422, `H.264 profile-level-id ${body.video.profileLevelId} is not baseline or main: re-encode it first`);
    }
    if (this.#rooms.originUrl) throw new HttpRefusal(409, 'This sfu is an edge of another: ingest at the origin sfu');
    if (this.#rooms.hasEnded(show.data)) throw new HttpRefusal(410, 'The show has ended');

    let room: Room;
    try {
      room = await this.#rooms.getOrCreate(show.data);
    } catch (error) {
      logger.error('could not open the room', { show: show.data, error });
      throw new HttpRefusal(503, 'The show cannot be opened right now', { 'retry-after': '2' });
    }
    // A new ingest replaces the previous one: a restarted FFmpeg sends from ports the old transports ignore.
    const previous = this.#ingests.get(show.data);
    if (previous) this.#closeIngest(previous, 'replaced by a new ingest');

    const ingest = await this.#open(room, body);
    const answer: PlainIngestResponse = {
      ingestId: ingest.id,
      showId: show.data,
      video: this.#endpointOf(ingest.transports[0]!),
      audio: this.#endpointOf(ingest.transports[1]!),
    };
    sendJson(response, 201, answer, { location: `/shows/${show.data}/plain-ingest/${ingest.id}` });
  }

  /** Transports and producers for one ingest, in the room; on any failure, nothing is left behind. */
  async #open(room: Room, body: PlainIngestRequest): Promise<Ingest> {
    const release = room.retain();
    const transports: mediasoupTypes.PlainTransport[] = [];
    try {
      const router = room.originRouter;
      const { ip, announcedAddress, portRange } = this.#listen;
      for (let i = 0; i < 2; i++) {
        transports.push(
          await router.createPlainTransport({
            // A key frame arrives as a burst of packets: a default-sized receive buffer drops some (socketBuffers.ts).
            listenInfo: { protocol: 'udp', ip, announcedAddress, portRange, recvBufferSize: INGRESS_RECV_BUFFER_BYTES },
            rtcpMux: false,
            comedia: true,
            appData: { plainIngest: true },
          }),
        );
      }
      const [videoTransport, audioTransport] = transports as [mediasoupTypes.PlainTransport, mediasoupTypes.PlainTransport];
      const keyFrameFeedback: mediasoupTypes.RtcpFeedback[] = [{ type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];
      const video = await videoTransport.produce({
        kind: 'video',
        rtpParameters: {
          codecs: [
            {
              mimeType: 'video/H264',
              payloadType: body.video.payloadType,
              clockRate: 90000,
              parameters: { 'packetization-mode': 1, 'profile-level-id': ROUTED_PROFILE_LEVEL_ID, 'level-asymmetry-allowed': 1 },
              rtcpFeedback: keyFrameFeedback,
            },
          ],
          encodings: [{ ssrc: body.video.ssrc }],
        },
        appData: { source: PLAIN_INGEST_OWNER },
      });
      const audio = await audioTransport.produce({
        kind: 'audio',
        rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: body.audio.payloadType, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: body.audio.ssrc }] },
        appData: { source: PLAIN_INGEST_OWNER },
      });
      if (room.closed) throw new HttpRefusal(503, 'The show closed meanwhile');
      // Audio first, as browser publishers produce: viewers list the producers in the order they came.
      room.addExternalProducer(audio, PLAIN_INGEST_OWNER);
      room.addExternalProducer(video, PLAIN_INGEST_OWNER);
    } catch (error) {
      for (const transport of transports) transport.close();
      release();
      throw error;
    }
    // The room closing (show ended, worker lost, shutdown) closes the routers and so the transports;
    // a worker replaced takes the transports with it (the transcoder's next ingest opens new ones).
    const onRoomClosed = () => this.#closeIngest(ingest, 'the room closed');
    const onWorkerReplaced = () => this.#closeIngest(ingest, 'the media worker was replaced');
    const ingest: Ingest = {
      id: newId(),
      showId: room.showId,
      room,
      transports,
      profileLevelId: body.video.profileLevelId.toLowerCase(),
      source: body.source,
      release: () => {
        room.off('closed', onRoomClosed);
        room.off('workerreplaced', onWorkerReplaced);
        release();
      },
      closed: false,
    };
    this.#ingests.set(room.showId, ingest);
    room.once('closed', onRoomClosed);
    room.once('workerreplaced', onWorkerReplaced);
    logger.info('plain ingest opened', {
      show: room.showId,
      ingest: ingest.id,
      profileLevelId: ingest.profileLevelId,
      ...(ingest.source ? { videoReencoded: ingest.source.videoReencoded } : {}),
    });
    return ingest;
  }

  #delete(response: ServerResponse, showParam: string, ingestId: string): void {
    const ingest = this.#ingests.get(showParam);
    if (!ingest || ingest.id !== ingestId) throw new HttpRefusal(404, 'No such ingest');
    this.#closeIngest(ingest, 'deleted by the transcoder');
    response.writeHead(204).end();
  }

  #closeIngest(ingest: Ingest, why: string): void {
    if (ingest.closed) return;
    ingest.closed = true;
    if (this.#ingests.get(ingest.showId) === ingest) this.#ingests.delete(ingest.showId);
    // Closing a transport closes its producer, which leaves the room (viewers are told).
    for (const transport of ingest.transports) transport.close();
    ingest.release();
    logger.info('plain ingest closed', { show: ingest.showId, ingest: ingest.id, why });
  }

  #endpointOf(transport: mediasoupTypes.PlainTransport): PlainIngestEndpoint {
    const { localAddress, localPort } = transport.tuple;
    const rtcpPort = transport.rtcpTuple?.localPort;
    if (rtcpPort === undefined) throw new Error('a PlainTransport without rtcpMux has an RTCP tuple');
    return { ip: reachable(localAddress), port: localPort, rtcpPort };
  }
}

/** FFmpeg runs beside the sfu or on its private network: a wildcard bind is reached over loopback. */
function reachable(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}
