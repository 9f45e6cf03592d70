import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as mediasoupTypes from 'mediasoup/types';
import { Id, newId, verifyToken, type AdmissionClaims, type SignalingErrorCode } from '@mytaek1/contracts';
import { RequestError } from './errors.ts';
import { bearerOf, readBody, sendProblem } from './http.ts';
import { HttpRefusal } from './HttpRefusal.ts';
import { HttpMediaSession, type HttpMediaSessionKind } from './HttpMediaSession.ts';
import { createLogger } from './logger.ts';
import { Peer, type PeerChannel, type PeerTransport } from './Peer.ts';
import type { Room } from './Room.ts';
import type { RoomRegistry } from './RoomRegistry.ts';
import { buildAnswer, type AnsweredMedia } from './sdp/answer.ts';
import { isMediaKind, producerParametersFor, whepRouterProfile, whepRtpCapabilities } from './sdp/codecs.ts';
import { parseOffer, type Offer, type OfferedMedia } from './sdp/offer.ts';
import type { StreamKeyVerifier } from '@mytaek1/contracts';

const logger = createLogger('WhipWhepServer');

export type WhipWhepServerOptions = {
  rooms: RoomRegistry;
  tokenSecret: string;
  /** Checks a WHIP bearer that is not an sfu token: a stream key, owned by the edge API. */
  streamKeys: StreamKeyVerifier;
  /** See HttpMediaSession. */
  connectTimeoutMs?: number;
  /** How long a WHEP viewer on an edge sfu waits for the origin to say which producers the show has. */
  originSyncTimeoutMs?: number;
};

const ENDPOINT = /^\/(whip|whep)\/([^/]+)\/?$/;
const RESOURCE = /^\/(whip|whep)\/([^/]+)\/([^/]+)$/;
const MAX_SDP_BYTES = 64 * 1024;
/** How long the DELETE of a session that ended by itself still answers 200 rather than 404. */
const ENDED_SESSION_MEMORY_MS = 60_000;
const STATUS_FOR_CODE: Record<SignalingErrorCode, number> = {
  bad_request: 400,
  forbidden: 403,
  not_found: 404,
  cannot_consume: 406,
  unavailable: 503,
  internal: 500,
};

/**
 * A browser player on another origin reads the answer's Location and ETag only if they are exposed,
 * and sends Authorization and If-Match only after a preflight that allows them.
 */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Location, ETag, Link, Accept-Patch, Accept-Post',
};

/**
 * WHIP (RFC 9725) and WHEP on the sfu's HTTP port.
 *
 * - `POST /whip/:show` with an SDP offer and `Authorization: Bearer <publisher token or stream key>`:
 *   the show's publisher. A bearer that is not an sfu token is taken as a stream key and checked with
 *   the edge API (StreamKeyVerifier); it must open this very show. The newest WHIP session of a show
 *   replaces an older one (an encoder reconnecting). On an edge sfu: 307 to the origin's endpoint.
 * - `POST /whep/:show` with an SDP offer and `Authorization: Bearer <sfu token for the show>`, any
 *   role. Watching always takes a token: the sfu keeps no show state, so it cannot tell a public show
 *   from a private one, and the edge API hands every viewer (anonymous ones too) a token anyway. The
 *   answer carries one consumer per offered m-line, for the show's producers at that moment (WHEP
 *   cannot renegotiate, so a show with no producer yet is 404: retry). Consumers send the payload
 *   types of the offer (see ShowRouters' router profiles).
 * - `201 Created` with the SDP answer, `Location: /<whip|whep>/:show/:session`, `ETag`. The sfu is
 *   ICE-lite and lists all its candidates in the answer, so no trickle is needed from it.
 * - `DELETE` on the session ends it. `PATCH` with `application/trickle-ice-sdpfrag`: trickled client
 *   candidates are acknowledged with 204 (an ICE-lite server learns the client's address from its
 *   checks); `If-Match: "*"` with new credentials restarts ICE (200 with the sfu's new ones).
 *   DELETE and PATCH need the bearer the session was created with.
 * - CORS, so that players on other origins can use the endpoints.
 */
export class WhipWhepServer {
  readonly #rooms: RoomRegistry;
  readonly #tokenSecret: string;
  readonly #streamKeys: StreamKeyVerifier;
  readonly #connectTimeoutMs: number;
  readonly #originSyncTimeoutMs: number;
  readonly #sessions = new Map<string, HttpMediaSession>();
  /**
   * Sessions that ended without a DELETE (a client closing its peer connection ends the DTLS
   * association before its DELETE arrives): their DELETE still succeeds for a while.
   */
  readonly #ended = new Map<string, HttpMediaSession>();
  #closed = false;

  static create(options: WhipWhepServerOptions): WhipWhepServer {
    return new WhipWhepServer(options);
  }

  private constructor({ rooms, tokenSecret, streamKeys, connectTimeoutMs = 30_000, originSyncTimeoutMs = 5_000 }: WhipWhepServerOptions) {
    this.#rooms = rooms;
    this.#tokenSecret = tokenSecret;
    this.#streamKeys = streamKeys;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#originSyncTimeoutMs = originSyncTimeoutMs;
  }

  /** The live sessions, for tests and stats. */
  get sessions(): ReadonlyMap<string, HttpMediaSession> {
    return this.#sessions;
  }

  /** True when the path is a WHIP or WHEP one (whether or not the request was valid): it has been answered. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const endpoint = ENDPOINT.exec(url.pathname);
    const resource = endpoint ? undefined : RESOURCE.exec(url.pathname);
    if (!endpoint && !resource) return false;
    try {
      if (endpoint) await this.#endpoint(request, response, endpoint[1] as HttpMediaSessionKind, endpoint[2] ?? '', url);
      else if (resource) await this.#resource(request, response, resource[1] as HttpMediaSessionKind, resource[2] ?? '', resource[3] ?? '');
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
      } else if (error instanceof HttpRefusal) {
        sendProblem(response, error.status, error.message, undefined, { ...CORS_HEADERS, ...error.headers });
      } else if (error instanceof RequestError) {
        sendProblem(response, STATUS_FOR_CODE[error.code], error.message, undefined, CORS_HEADERS);
      } else {
        logger.error('WHIP/WHEP request failed', { method: request.method, path: url.pathname, error });
        const status = isMediasoupRefusal(error) ? 406 : 500;
        sendProblem(response, status, status === 406 ? 'The offer cannot be served' : 'Internal error', undefined, CORS_HEADERS);
      }
    }
    return true;
  }

  /** Ends every session (on shutdown; the rooms closing would end them too). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close();
    this.#ended.clear();
  }

  async #endpoint(request: IncomingMessage, response: ServerResponse, kind: HttpMediaSessionKind, showParam: string, url: URL): Promise<void> {
    if (request.method === 'OPTIONS') {
      response
        .writeHead(204, {
          ...CORS_HEADERS,
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'Authorization, Content-Type',
          'access-control-max-age': '600',
          'accept-post': 'application/sdp',
        })
        .end();
      return;
    }
    if (request.method !== 'POST') throw new HttpRefusal(405, 'Method not allowed', { allow: 'POST, OPTIONS' });
    if (this.#closed) throw new HttpRefusal(503, 'Shutting down');
    const show = Id.safeParse(showParam);
    if (!show.success) throw new HttpRefusal(404, 'Not a show id');
    const originUrl = this.#rooms.originUrl;
    if (kind === 'whip' && originUrl) {
      // An edge takes no publisher: the encoder is sent to the origin (RFC 9725 allows redirects).
      response.writeHead(307, { ...CORS_HEADERS, location: `${originUrl}${url.pathname}` }).end();
      return;
    }
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/sdp') throw new HttpRefusal(415, 'The offer must be application/sdp', { 'accept-post': 'application/sdp' });
    const bearer = bearerOf(request);
    if (!bearer) throw new HttpRefusal(401, 'Missing bearer token', { 'www-authenticate': 'Bearer' });
    const claims = kind === 'whip' ? await this.#authorizePublisher(bearer, show.data) : await this.#authorizeViewer(bearer, show.data);
    const text = await readBody(request, MAX_SDP_BYTES);
    if (text === undefined) throw new HttpRefusal(413, 'The offer is too large');
    const offer = parseOffer(text);
    if (this.#rooms.hasEnded(show.data)) throw new HttpRefusal(410, 'The show has ended');

    const session = kind === 'whip' ? await this.#publish(show.data, claims, offer, bearer) : await this.#view(show.data, claims, offer, bearer);
    response
      .writeHead(201, {
        ...CORS_HEADERS,
        'content-type': 'application/sdp',
        location: session.session.resourcePath,
        etag: session.session.etag,
        'accept-patch': 'application/trickle-ice-sdpfrag',
        'cache-control': 'no-store',
      })
      .end(session.answer);
  }

  async #resource(request: IncomingMessage, response: ServerResponse, kind: HttpMediaSessionKind, showParam: string, sessionId: string): Promise<void> {
    if (request.method === 'OPTIONS') {
      response
        .writeHead(204, {
          ...CORS_HEADERS,
          'access-control-allow-methods': 'PATCH, DELETE, OPTIONS',
          'access-control-allow-headers': 'Authorization, Content-Type, If-Match',
          'access-control-max-age': '600',
          'accept-patch': 'application/trickle-ice-sdpfrag',
        })
        .end();
      return;
    }
    if (request.method !== 'DELETE' && request.method !== 'PATCH') throw new HttpRefusal(405, 'Method not allowed', { allow: 'PATCH, DELETE, OPTIONS' });
    const session = this.#sessions.get(sessionId) ?? (request.method === 'DELETE' ? this.#ended.get(sessionId) : undefined);
    if (!session || session.kind !== kind || session.showId !== showParam) throw new HttpRefusal(404, 'No such session');
    if (session.credentialDigest && !sameCredential(bearerOf(request), session.credentialDigest)) {
      throw new HttpRefusal(401, 'This session belongs to another bearer', { 'www-authenticate': 'Bearer' });
    }
    if (request.method === 'DELETE') {
      session.close();
      this.#ended.delete(session.id);
      response.writeHead(200, CORS_HEADERS).end();
      return;
    }
    await this.#patch(session, request, response);
  }

  async #patch(session: HttpMediaSession, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/trickle-ice-sdpfrag') throw new HttpRefusal(415, 'PATCH takes application/trickle-ice-sdpfrag', { 'accept-patch': 'application/trickle-ice-sdpfrag' });
    const fragment = await readBody(request, MAX_SDP_BYTES);
    if (fragment === undefined) throw new HttpRefusal(413, 'The fragment is too large');
    const ifMatch = request.headers['if-match']?.trim();
    if (ifMatch !== '*') {
      if (ifMatch && ifMatch !== session.etag) throw new HttpRefusal(412, 'The ICE session has changed');
      // Trickled candidates: an ICE-lite server learns the client's addresses from its connectivity checks.
      response.writeHead(204, { ...CORS_HEADERS, etag: session.etag }).end();
      return;
    }
    // ICE restart: the client sent new credentials; the sfu takes new ones too and sends them back.
    if (!/^a=ice-ufrag:\S+/m.test(fragment) || !/^a=ice-pwd:\S+/m.test(fragment)) throw new HttpRefusal(400, 'An ICE restart needs the new ice-ufrag and ice-pwd');
    const ice = await session.restartIce();
    const firstMid = /^a=mid:(\S+)/m.exec(fragment)?.[1] ?? '0';
    const lines = [
      'a=ice-lite',
      `a=ice-ufrag:${ice.usernameFragment}`,
      `a=ice-pwd:${ice.password}`,
      `m=audio 9 UDP/TLS/RTP/SAVPF 0`,
      `a=mid:${firstMid}`,
      ...session.transport.iceCandidates.map(
        (c) => `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}${c.tcpType ? ` tcptype ${c.tcpType}` : ''}`,
      ),
      'a=end-of-candidates',
    ];
    response.writeHead(200, { ...CORS_HEADERS, 'content-type': 'application/trickle-ice-sdpfrag', etag: session.etag }).end(`${lines.join('\r\n')}\r\n`);
  }

  /** A publisher token for this show, or a stream key the edge API says opens this show. */
  async #authorizePublisher(bearer: string, show: string): Promise<AdmissionClaims> {
    const verified = await verifyToken(bearer, this.#tokenSecret, { audience: 'sfu' });
    if (verified.ok) {
      if (verified.claims.show !== show) throw new HttpRefusal(403, 'This token is for another show');
      if (verified.claims.role !== 'publisher') throw new HttpRefusal(403, 'Only a publisher may publish');
      return verified.claims;
    }
    if (verified.reason !== 'malformed') throw new HttpRefusal(401, `Invalid token (${verified.reason})`, { 'www-authenticate': 'Bearer error="invalid_token"' });
    // Not an sfu token: a stream key.
    if (bearer.length > 128) throw new HttpRefusal(401, 'Unknown stream key', { 'www-authenticate': 'Bearer error="invalid_token"' });
    const verdict = await this.#streamKeys.verify(bearer);
    if (!verdict.ok) {
      if (verdict.reason.startsWith('verifier_')) {
        logger.warn('stream key could not be verified', { show, reason: verdict.reason });
        throw new HttpRefusal(503, 'The stream key cannot be checked right now', { 'retry-after': '5' });
      }
      if (verdict.reason === 'no_scheduled_show') throw new HttpRefusal(403, 'This stream key has no show to publish');
      throw new HttpRefusal(401, 'Unknown stream key', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (verdict.showId !== show) throw new HttpRefusal(403, 'This stream key is for another show');
    const iat = Math.floor(Date.now() / 1000);
    return { aud: 'sfu', sub: verdict.sellerId, show, role: 'publisher', iat, exp: iat + 24 * 60 * 60 };
  }

  /** Any sfu token for this show. */
  async #authorizeViewer(bearer: string, show: string): Promise<AdmissionClaims> {
    const verified = await verifyToken(bearer, this.#tokenSecret, { audience: 'sfu' });
    if (!verified.ok) throw new HttpRefusal(401, `Invalid token (${verified.reason})`, { 'www-authenticate': 'Bearer error="invalid_token"' });
    if (verified.claims.show !== show) throw new HttpRefusal(403, 'This token is for another show');
    return verified.claims;
  }

  async #publish(show: string, claims: AdmissionClaims, offer: Offer, bearer: string): Promise<{ session: HttpMediaSession; answer: string }> {
    const room = await this.#openRoom(show);
    // One WHIP session per show: an encoder that reconnects replaces its previous session at once.
    for (const previous of this.#sessions.values()) {
      if (previous.kind === 'whip' && previous.showId === show) {
        logger.info('a new WHIP session replaces the previous one', { show, previous: previous.id });
        previous.close();
      }
    }
    return this.#withPeer(room, 'whip', claims, bearer, offer, async (peer) => {
      const transport = await room.createWebRtcTransport(peer, 'send');
      const answered: AnsweredMedia[] = [];
      for (const media of offer.media) {
        const sends = media.direction === 'sendonly' || media.direction === 'sendrecv';
        const choice = media.port !== 0 && sends ? producerParametersFor(media, room.originRouter.rtpCapabilities) : undefined;
        if (!choice) {
          answered.push({ media, accepted: false });
          continue;
        }
        await room.produce(peer, transport.id, choice.kind, choice.rtpParameters);
        answered.push({ media, accepted: true, direction: 'recvonly', rtpParameters: choice.rtpParameters });
      }
      if (!answered.some((a) => a.accepted)) throw new HttpRefusal(406, 'No m-line sends audio or video in a codec the show routes (Opus, VP8, H.264 constrained baseline)');
      return { transport, answered };
    });
  }

  async #view(show: string, claims: AdmissionClaims, offer: Offer, bearer: string): Promise<{ session: HttpMediaSession; answer: string }> {
    let room: Room | undefined;
    if (this.#rooms.originUrl) {
      // An edge learns the show's producers from the origin: open the room (and its pipe) and wait for them.
      room = await this.#openRoom(show);
      await room.producersKnown(this.#originSyncTimeoutMs);
    } else {
      room = this.#rooms.get(show);
    }
    if (!room || room.closed || room.producers.length === 0) throw new HttpRefusal(404, 'The show is not live (no media yet): try again shortly', { 'retry-after': '2' });
    const producers = room.producers;
    return this.#withPeer(room, 'whep', claims, bearer, offer, async (peer) => {
      // Each receiving m-line gets the first producer of its kind that no earlier m-line took.
      const assigned = new Map<OfferedMedia, mediasoupTypes.Producer>();
      const taken = new Set<string>();
      for (const media of offer.media) {
        const receives = media.direction === 'recvonly' || media.direction === 'sendrecv';
        if (media.port === 0 || !receives || !isMediaKind(media.type)) continue;
        const producer = producers.find((candidate) => candidate.kind === media.type && !taken.has(candidate.id) && !candidate.closed);
        if (!producer) continue;
        taken.add(producer.id);
        assigned.set(media, producer);
      }
      if (assigned.size === 0) throw new HttpRefusal(406, 'The offer receives no kind of media the show has');
      const profile = whepRouterProfile([...assigned.keys()]);
      const transport = await room.createWebRtcTransport(peer, 'recv', { profile });
      const router = room.routerOf(transport.id)?.router ?? room.originRouter;
      const answered: AnsweredMedia[] = [];
      const consumers: mediasoupTypes.Consumer[] = [];
      for (const media of offer.media) {
        const producer = assigned.get(media);
        if (!producer) {
          answered.push({ media, accepted: false });
          continue;
        }
        const capabilities = whepRtpCapabilities(media, router.rtpCapabilities);
        let consumer: mediasoupTypes.Consumer;
        try {
          consumer = await room.consume(peer, transport.id, producer.id, capabilities, { mid: media.mid, paused: false });
        } catch (error) {
          if (!(error instanceof RequestError && error.code === 'cannot_consume') && !isMediasoupRefusal(error)) throw error;
          answered.push({ media, accepted: false });
          continue;
        }
        answered.push({ media, accepted: true, direction: 'sendonly', rtpParameters: consumer.rtpParameters, msid: { streamId: show, trackId: consumer.id } });
        consumers.push(consumer);
      }
      if (!answered.some((a) => a.accepted)) throw new HttpRefusal(406, 'No codec in common with the show');
      // WHEP cannot renegotiate: once every consumer has lost its producer (the publisher left or
      // reconnected), the session has nothing more to give, and ends so that the player starts over.
      let live = consumers.length;
      for (const consumer of consumers) consumer.observer.once('close', () => --live === 0 && peer.close());
      return { transport, answered };
    });
  }

  /**
   * Admits a peer for the session, lets `setUp` create its media, connects its transport with the
   * offer's DTLS parameters and answers; on any failure the peer (and all it created) goes.
   */
  async #withPeer(
    room: Room,
    kind: HttpMediaSessionKind,
    claims: AdmissionClaims,
    bearer: string,
    offer: Offer,
    setUp: (peer: Peer) => Promise<{ transport: PeerTransport; answered: AnsweredMedia[] }>,
  ): Promise<{ session: HttpMediaSession; answer: string }> {
    let session: HttpMediaSession | undefined;
    const channel: PeerChannel = {
      // No renegotiation over WHIP/WHEP: media lost to a dead worker ends the session, and the client reconnects.
      notify: (notification) => {
        if (notification.method === 'reconnect') session?.close();
      },
      close: () => session?.close(),
    };
    const peer = Peer.create({ id: newId(), claims, channel });
    room.addPeer(peer);
    try {
      const { transport, answered } = await setUp(peer);
      // The offerer's DTLS role: actpass and active make it the client, and the sfu the server.
      await transport.connect({ dtlsParameters: { role: offer.setup === 'passive' ? 'server' : 'client', fingerprints: [offer.fingerprint] } });
      const answer = buildAnswer(offer, answered, transport);
      if (peer.closed) throw new HttpRefusal(503, 'The show closed meanwhile');
      session = HttpMediaSession.create({
        kind,
        showId: room.showId,
        peer,
        transport,
        credentialDigest: digest(bearer),
        connectTimeoutMs: this.#connectTimeoutMs,
      });
      const created = session;
      this.#sessions.set(created.id, created);
      created.once('closed', () => {
        this.#sessions.delete(created.id);
        this.#ended.set(created.id, created);
        setTimeout(() => this.#ended.delete(created.id), ENDED_SESSION_MEMORY_MS).unref();
        logger.info(`${kind.toUpperCase()} session ended`, { show: room.showId, session: created.id });
      });
      logger.info(`${kind.toUpperCase()} session started`, {
        show: room.showId,
        session: created.id,
        media: answered.map((a) => (a.accepted ? `${a.media.type}:${a.rtpParameters.codecs[0]?.mimeType}` : `${a.media.type}:refused`)),
      });
      return { session: created, answer };
    } catch (error) {
      peer.close();
      throw error;
    }
  }

  async #openRoom(show: string): Promise<Room> {
    try {
      return await this.#rooms.getOrCreate(show);
    } catch (error) {
      logger.error('could not open the room', { show, error });
      throw new HttpRefusal(503, 'The show cannot be opened right now');
    }
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function sameCredential(bearer: string | undefined, expected: Buffer): boolean {
  return bearer !== undefined && timingSafeEqual(digest(bearer), expected);
}

/** mediasoup refusing parameters (no common codec, a malformed one) rather than failing. */
function isMediasoupRefusal(error: unknown): boolean {
  return error instanceof Error && (error.name === 'UnsupportedError' || error.name === 'TypeError');
}
