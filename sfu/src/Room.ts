import { EventEmitter } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';
import {
  RtpCapabilities,
  RtpParameters,
  SignalingCloseCode,
  type MediaKind,
  type RoomClosedReason,
  type SfuConsumerStats,
  type SfuProducerStats,
  type SfuShowStats,
  type SignalingCloseReason,
  type SignalingMethod,
  type SignalingRequest,
  type SignalingRequestData,
  type SignalingResponseData,
  type TransportDirection,
} from '@mytaek1/contracts';
import { RequestError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { OriginPipe, type PipeListenOptions } from './OriginPipe.ts';
import type { Peer, PeerTransport } from './Peer.ts';
import { ShowRouters, type RouterProfile, type ShowRouter } from './ShowRouters.ts';
import { INGRESS_RECV_BUFFER_BYTES } from './socketBuffers.ts';
import type { WorkerPool } from './WorkerPool.ts';

const staticLogger = createLogger('Room');

/** Where transports listen and what address they announce in ICE candidates. */
export type RtcListenOptions = {
  ip: string;
  announcedAddress: string | undefined;
  portRange: { min: number; max: number };
};

/** Set on an edge sfu: the show's media is piped in from this origin sfu. */
export type RoomOriginOptions = {
  url: string;
  /** The shared secret the origin admits other sfu instances with. */
  secret: string;
  pipeListen: PipeListenOptions;
};

/** Why a room closed: what its peers are told, or `idle` when nobody was left to tell. */
export type RoomCloseReason = RoomClosedReason | 'idle';

export type RoomEvents = {
  /** The room closed, no matter how; its routers and every peer are closed. */
  closed: [reason: RoomCloseReason];
  /** The room moved to a new worker after its origin router's worker died; its peers were told to reconnect. */
  workerreplaced: [workerPid: number];
  /** A producer joined the show (a publisher's, or one piped in from the origin sfu). */
  newproducer: [producer: mediasoupTypes.Producer];
};

export type RoomCreateOptions = {
  showId: string;
  pool: WorkerPool;
  listen: RtcListenOptions;
  /** How long the room outlives its last peer (and waits for its first). */
  emptyRoomGraceMs: number;
  /** See ShowRouters: past this, new viewers go to another router on another worker. */
  maxConsumersPerRouter: number;
  origin?: RoomOriginOptions;
};

export type ConsumeOptions = {
  /** The client's own MID for the consumer's m-line (WHEP); mediasoup numbers them otherwise. */
  mid?: string;
  paused?: boolean;
  enableRtx?: boolean;
};

/** The owner of producers that no peer of this sfu owns: those piped in from the origin sfu. */
export const ORIGIN_OWNER = 'origin';

/**
 * A client needs one send and one receive transport; a few more cover a renegotiation in flight.
 * Each transport holds two ports, so a client asking for hundreds is refused rather than obeyed.
 */
const MAX_TRANSPORTS_PER_PEER = 4;

/** mediasoup's default is 600 kbps, which makes a fresh 720p stream start blurry. */
const INITIAL_AVAILABLE_OUTGOING_BITRATE = 1_500_000;

const CLOSE_FOR_REASON: Record<RoomClosedReason, { code: SignalingCloseCode; reason: SignalingCloseReason }> = {
  show_ended: { code: SignalingCloseCode.showEnded, reason: 'show_ended' },
  shutdown: { code: SignalingCloseCode.goingAway, reason: 'shutdown' },
  worker_lost: { code: SignalingCloseCode.internalError, reason: 'worker_lost' },
};

type RoomProducer = { producer: mediasoupTypes.Producer; ownerId: string };

/**
 * One live show: its routers (ShowRouters: an origin router with the producers, and edge routers on
 * other workers for the viewers past one router's share), and its peers (publishers, viewers,
 * WHIP and WHEP sessions). On an edge sfu the producers are piped in from the origin sfu.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly showId: string;
  readonly #pool: WorkerPool;
  readonly #listen: RtcListenOptions;
  readonly #emptyRoomGraceMs: number;
  readonly #originOptions: RoomOriginOptions | undefined;
  readonly #logger: Logger;
  readonly #peers = new Map<string, Peer>();
  readonly #producers = new Map<string, RoomProducer>();
  /** Producers their owner asked to close: the owner needs no `producerClosed` for them. */
  readonly #closedByOwner = new WeakSet<mediasoupTypes.Producer>();
  readonly #routers: ShowRouters;
  #originPipe: OriginPipe | undefined;
  /** Holders other than peers (pipes to edge sfu instances) keeping the room open. */
  #holds = 0;
  #emptyTimer: NodeJS.Timeout | undefined;
  #closeReason: RoomCloseReason | undefined;

  static async create({ showId, pool, listen, emptyRoomGraceMs, maxConsumersPerRouter, origin }: RoomCreateOptions): Promise<Room> {
    const logger = createLogger(`Room:${showId}`);
    const routers = await ShowRouters.create({ showId, pool, maxConsumersPerRouter, edgeIdleMs: Math.max(emptyRoomGraceMs, 1_000), logger });
    staticLogger.info('room created', { showId, workerPid: routers.origin.worker.pid, origin: origin?.url });
    return new Room(showId, pool, listen, emptyRoomGraceMs, routers, origin, logger);
  }

  private constructor(
    showId: string,
    pool: WorkerPool,
    listen: RtcListenOptions,
    emptyRoomGraceMs: number,
    routers: ShowRouters,
    origin: RoomOriginOptions | undefined,
    logger: Logger,
  ) {
    super();
    this.showId = showId;
    this.#pool = pool;
    this.#listen = listen;
    this.#emptyRoomGraceMs = emptyRoomGraceMs;
    this.#routers = routers;
    this.#originOptions = origin;
    this.#logger = logger;
    this.#pool.on('workerdied', this.#onWorkerDied);
    this.#startOriginPipe();
    // A room is created for a peer that is being admitted; if that peer never arrives (it hung up
    // meanwhile), the room must still go away.
    this.#scheduleCloseIfEmpty();
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why the room closed (set as soon as it starts closing), or undefined while it is open. */
  get closeReason(): RoomCloseReason | undefined {
    return this.#closeReason;
  }

  /** The origin router's worker. */
  get workerPid(): number {
    return this.#routers.origin.worker.pid;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** True on an edge sfu: media comes from the origin sfu, and publishing happens there. */
  get isEdge(): boolean {
    return this.#originOptions !== undefined;
  }

  /** Where the show's producers live. */
  get originRouter(): mediasoupTypes.Router {
    return this.#router();
  }

  /** Every router of the show, origin first. */
  get routers(): readonly ShowRouter[] {
    return this.#routers.list();
  }

  /** The router a viewer transport was placed on. */
  routerOf(transportId: string): ShowRouter | undefined {
    return this.#routers.routerOf(transportId);
  }

  /** The show's producers, in the order they appeared. */
  get producers(): mediasoupTypes.Producer[] {
    return [...this.#producers.values()].map(({ producer }) => producer);
  }

  producersOf(ownerId: string): mediasoupTypes.Producer[] {
    return [...this.#producers.values()].filter((entry) => entry.ownerId === ownerId).map(({ producer }) => producer);
  }

  /**
   * Settles once the room knows the show's producers: at once on an origin, after the first
   * exchange with the origin sfu (or `timeoutMs`) on an edge. A WHEP viewer cannot wait for
   * producers that show up later, so it waits for this.
   */
  async producersKnown(timeoutMs: number): Promise<void> {
    const pipe = this.#originPipe;
    if (!pipe) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pipe.synced, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Keeps the room open with no peer in it (a pipe to an edge sfu); call the function returned to let go. */
  retain(): () => void {
    if (this.closed) throw new Error(`room ${this.showId} is closed`);
    this.#holds++;
    this.#cancelEmptyTimer();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      this.#scheduleCloseIfEmpty();
    };
  }

  addPeer(peer: Peer): void {
    if (this.closed) throw new Error(`room ${this.showId} is closed`);
    this.#cancelEmptyTimer();
    this.#peers.set(peer.id, peer);
    peer.once('closed', () => {
      this.#peers.delete(peer.id);
      this.#scheduleCloseIfEmpty();
    });
    this.#logger.debug('peer joined', { peerId: peer.id, role: peer.role, peers: this.#peers.size });
    // Tell the newcomer what it can watch already; it consumes once its device is loaded.
    for (const { producer, ownerId } of this.#producers.values()) {
      if (ownerId === peer.id) continue;
      peer.notify({ type: 'notification', method: 'newProducer', data: { producerId: producer.id, kind: producer.kind, peerId: ownerId } });
    }
  }

  /** Runs one signaling request of `peer` and returns the response data; throws RequestError to refuse. */
  async handleRequest(peer: Peer, request: SignalingRequest): Promise<SignalingResponseData<SignalingMethod>> {
    if (this.closed) throw new RequestError('unavailable', 'the room is closed');
    switch (request.method) {
      case 'authenticate':
        throw new RequestError('bad_request', 'already authenticated');
      case 'getRouterRtpCapabilities':
        return { rtpCapabilities: RtpCapabilities.parse(this.#router().rtpCapabilities) };
      case 'createWebRtcTransport': {
        const transport = await this.createWebRtcTransport(peer, request.data.direction);
        return {
          transportId: transport.id,
          iceParameters: transport.iceParameters,
          iceCandidates: transport.iceCandidates,
          dtlsParameters: transport.dtlsParameters,
        };
      }
      case 'connectTransport':
        await peer.transport(request.data.transportId).connect({ dtlsParameters: request.data.dtlsParameters });
        return {};
      case 'produce': {
        const { transportId, kind, rtpParameters } = request.data;
        const producer = await this.produce(peer, transportId, kind, rtpParameters);
        return { producerId: producer.id };
      }
      case 'consume':
        return this.#consumeForSignaling(peer, request.data);
      case 'resumeConsumer':
        await peer.consumer(request.data.consumerId).resume();
        return {};
      case 'setConsumerPreferredLayers': {
        const { consumerId, spatialLayer, temporalLayer } = request.data;
        const consumer = peer.consumer(consumerId);
        // Only simulcast and SVC consumers have layers; a single stream has nothing to choose.
        if (consumer.type === 'simulcast' || consumer.type === 'svc') await consumer.setPreferredLayers({ spatialLayer, temporalLayer });
        return {};
      }
      case 'closeProducer': {
        const producer = peer.producer(request.data.producerId);
        this.#closedByOwner.add(producer);
        producer.close();
        return {};
      }
    }
  }

  /**
   * A WebRTC transport for `peer`: a send transport on the origin router, a receive transport on the
   * router ShowRouters places the viewer on (`profile` for a receiver with payload types of its own).
   */
  async createWebRtcTransport(peer: Peer, direction: TransportDirection, { profile }: { profile?: RouterProfile } = {}): Promise<PeerTransport> {
    if (this.closed) throw new RequestError('unavailable', 'the room is closed');
    // Refuse before creating anything: a viewer never needs a send transport.
    if (direction === 'send' && !peer.mayProduce) throw new RequestError('forbidden', 'only a publisher may send media');
    if (direction === 'send' && this.isEdge) throw new RequestError('forbidden', 'this sfu is an edge of another: publish to the origin sfu');
    if (peer.transportCount >= MAX_TRANSPORTS_PER_PEER) throw new RequestError('forbidden', `at most ${MAX_TRANSPORTS_PER_PEER} transports per peer`);
    const router = this.#router();
    const slot =
      direction === 'recv'
        ? await this.#routers.placeViewer({ peerId: peer.id, profile, expectedConsumers: this.#producers.size - this.producersOf(peer.id).length })
        : undefined;
    const { ip, announcedAddress, portRange } = this.#listen;
    const listenInfo = (protocol: mediasoupTypes.TransportProtocol): mediasoupTypes.TransportListenInfo => ({
      protocol,
      ip,
      announcedAddress,
      portRange,
      // A publisher's key frames arrive in bursts (see socketBuffers.ts); a viewer's transport only gets RTCP.
      ...(direction === 'send' ? { recvBufferSize: INGRESS_RECV_BUFFER_BYTES } : {}),
    });
    let transport: PeerTransport;
    try {
      transport = await (slot?.router ?? router).createWebRtcTransport({
        listenInfos: [listenInfo('udp'), listenInfo('tcp')],
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: INITIAL_AVAILABLE_OUTGOING_BITRATE,
        appData: { direction },
      });
    } catch (error) {
      slot?.release();
      throw error;
    }
    slot?.bind(transport);
    if (peer.closed) {
      // The peer left while the transport was being created.
      transport.close();
      throw new RequestError('unavailable', 'the peer left');
    }
    peer.addTransport(transport);
    return transport;
  }

  async produce(peer: Peer, transportId: string, kind: MediaKind, rtpParameters: mediasoupTypes.RtpParameters): Promise<mediasoupTypes.Producer> {
    if (!peer.mayProduce) throw new RequestError('forbidden', 'only a publisher may produce');
    const transport = peer.transport(transportId, 'send');
    this.#router(); // refuses while the worker is being replaced
    const producer = await transport.produce({ kind, rtpParameters, appData: { peerId: peer.id } });
    peer.addProducer(producer);
    this.#addProducer(producer, peer.id);
    return producer;
  }

  /**
   * Adds a producer that no peer owns, already on the origin router: one piped in from the origin
   * sfu, or plain RTP ingest. It leaves the show when it closes.
   */
  addExternalProducer(producer: mediasoupTypes.Producer, ownerId: string): void {
    if (this.closed) throw new Error(`room ${this.showId} is closed`);
    this.#addProducer(producer, ownerId);
  }

  /**
   * Consumes a producer of the show (by the id the show knows it by) on one of `peer`'s receive
   * transports, whichever router that transport is on.
   */
  async consume(peer: Peer, transportId: string, producerId: string, rtpCapabilities: mediasoupTypes.RtpCapabilities, options: ConsumeOptions = {}): Promise<mediasoupTypes.Consumer> {
    const transport = peer.transport(transportId, 'recv');
    this.#router(); // refuses while the worker is being replaced
    if (!this.#producers.has(producerId)) throw new RequestError('not_found', `no producer ${producerId} in this show`);
    const localProducerId = await this.#routers.localProducerId(transport.id, producerId);
    const router = this.#routers.routerOf(transport.id)?.router ?? this.#router();
    if (!router.canConsume({ producerId: localProducerId, rtpCapabilities })) {
      throw new RequestError('cannot_consume', `these RTP capabilities cannot receive producer ${producerId}`);
    }
    const consumer = await transport.consume({ producerId: localProducerId, rtpCapabilities, paused: options.paused ?? true, mid: options.mid, enableRtx: options.enableRtx });
    if (peer.closed) {
      consumer.close();
      throw new RequestError('unavailable', 'the peer left');
    }
    peer.addConsumer(consumer, producerId);
    return consumer;
  }

  /** Closes the routers and every peer (telling them why). Idempotent. */
  close(reason: RoomCloseReason): void {
    if (this.#closeReason) return;
    this.#closeReason = reason;
    this.#cancelEmptyTimer();
    this.#pool.off('workerdied', this.#onWorkerDied);
    this.#originPipe?.close();
    for (const peer of this.#peers.values()) {
      if (reason !== 'idle') {
        peer.notify({ type: 'notification', method: 'roomClosed', data: { reason } });
        peer.close(CLOSE_FOR_REASON[reason]);
      } else {
        peer.close();
      }
    }
    this.#peers.clear();
    this.#routers.close();
    this.#logger.info('room closed', { reason });
    this.emit('closed', reason);
  }

  async getStats(): Promise<SfuShowStats> {
    const peers = [...this.#peers.values()];
    const producerStats = await Promise.all([...this.#producers.values()].map(({ producer }) => producerStatsOf(producer)));
    const peerStats = await Promise.all(
      peers.map(async (peer) => ({
        peerId: peer.id,
        role: peer.role,
        consumers: (await Promise.all([...peer.consumers].map(consumerStatsOf))).filter((stats) => stats !== undefined),
      })),
    );
    const consumerStats = peerStats.flatMap((peer) => peer.consumers);
    const producers = producerStats.filter((stats) => stats !== undefined);
    return {
      show: this.showId,
      workerPid: this.workerPid,
      routers: this.#routers.stats(),
      ...(this.#originOptions ? { originUrl: this.#originOptions.url } : {}),
      publishers: peers.filter((peer) => peer.role === 'publisher').length,
      viewers: peers.filter((peer) => peer.role !== 'publisher').length,
      producers,
      consumers: consumerStats.length,
      peers: peerStats,
      ingressBitrate: producers.reduce((sum, producer) => sum + producer.bitrate, 0),
      egressBitrate: consumerStats.reduce((sum, consumer) => sum + consumer.bitrate, 0),
    };
  }

  #router(): mediasoupTypes.Router {
    const { router } = this.#routers.origin;
    // Between a worker's death and the room's move to a new one, there is nothing to route with.
    if (router.closed) throw new RequestError('unavailable', 'the media worker is being replaced; wait for the reconnect notification');
    return router;
  }

  #addProducer(producer: mediasoupTypes.Producer, ownerId: string): void {
    const router = this.#router();
    this.#producers.set(producer.id, { producer, ownerId });
    this.#routers.addProducer(producer);
    producer.observer.once('close', () => {
      this.#producers.delete(producer.id);
      // When the router itself is closing (room closed, worker died) peers hear of that instead.
      if (this.closed || router.closed) return;
      for (const other of this.#peers.values()) {
        if (other.id === ownerId && this.#closedByOwner.has(producer)) continue;
        other.notify({ type: 'notification', method: 'producerClosed', data: { producerId: producer.id } });
      }
    });
    for (const other of this.#peers.values()) {
      if (other.id === ownerId) continue;
      other.notify({ type: 'notification', method: 'newProducer', data: { producerId: producer.id, kind: producer.kind, peerId: ownerId } });
    }
    this.emit('newproducer', producer);
  }

  async #consumeForSignaling(peer: Peer, { transportId, producerId, rtpCapabilities }: SignalingRequestData<'consume'>): Promise<SignalingResponseData<'consume'>> {
    // The consumer starts paused: the client resumes it once its side is ready (see the contract).
    const consumer = await this.consume(peer, transportId, producerId, rtpCapabilities, { paused: true });
    return {
      consumerId: consumer.id,
      producerId,
      kind: consumer.kind,
      // Parsed, not cast: what goes out is exactly what the contract says.
      rtpParameters: RtpParameters.parse(consumer.rtpParameters),
      type: consumer.type,
      producerPaused: consumer.producerPaused,
    };
  }

  #startOriginPipe(): void {
    const origin = this.#originOptions;
    if (!origin || this.closed) return;
    const pipe = OriginPipe.start({
      originUrl: origin.url,
      secret: origin.secret,
      showId: this.showId,
      router: this.#routers.origin.router,
      listen: origin.pipeListen,
      logger: this.#logger,
    });
    pipe.on('producer', (producer) => {
      if (!this.closed) this.addExternalProducer(producer, ORIGIN_OWNER);
    });
    pipe.on('ended', (reason) => this.close(reason));
    this.#originPipe = pipe;
  }

  /** An arrow function, so that it can be removed from the pool's listeners on close. */
  readonly #onWorkerDied = (deadWorker: mediasoupTypes.Worker): void => {
    if (this.closed) return;
    const { originLost, peersLost } = this.#routers.onWorkerDied(deadWorker);
    if (originLost) {
      void this.#moveToNewWorker();
      return;
    }
    // Only the viewers on an edge router of that worker lost anything: they set their media up again.
    for (const peerId of peersLost) {
      const peer = this.#peers.get(peerId);
      if (!peer) continue;
      peer.closeMedia();
      peer.notify({ type: 'notification', method: 'reconnect', data: { reason: 'worker_died' } });
    }
    if (peersLost.size > 0) this.#logger.warn('edge router lost with its worker; its viewers were told to reconnect', { deadPid: deadWorker.pid, peers: peersLost.size });
  };

  /**
   * The origin router's worker died with every producer of this room. The signaling sessions are
   * intact, so keep them: take a router on a live worker and tell everyone to set up their media again.
   */
  async #moveToNewWorker(): Promise<void> {
    const deadPid = this.workerPid;
    for (const peer of this.#peers.values()) peer.closeMedia();
    this.#originPipe?.close();
    this.#originPipe = undefined;
    let origin: ShowRouter;
    try {
      origin = await this.#routers.replaceOrigin();
    } catch (error) {
      if (this.closed) return;
      this.#logger.error('no worker could take the room', { error });
      this.close('worker_lost');
      return;
    }
    if (this.closed) return;
    this.#producers.clear();
    this.#startOriginPipe();
    this.#logger.warn('room moved to a new worker', { deadPid, workerPid: origin.worker.pid });
    for (const peer of this.#peers.values()) {
      peer.notify({ type: 'notification', method: 'reconnect', data: { reason: 'worker_died' } });
    }
    this.emit('workerreplaced', origin.worker.pid);
  }

  #scheduleCloseIfEmpty(): void {
    if (this.closed || this.#peers.size > 0 || this.#holds > 0 || this.#emptyTimer) return;
    this.#emptyTimer = setTimeout(() => {
      this.#emptyTimer = undefined;
      if (this.#peers.size === 0 && this.#holds === 0) this.close('idle');
    }, this.#emptyRoomGraceMs);
    // An empty room waiting out its grace period is no reason to keep the process alive.
    this.#emptyTimer.unref();
  }

  #cancelEmptyTimer(): void {
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = undefined;
  }
}

async function producerStatsOf(producer: mediasoupTypes.Producer): Promise<SfuProducerStats | undefined> {
  try {
    // One entry per received stream: several with simulcast.
    const streams = await producer.getStats();
    return {
      producerId: producer.id,
      kind: producer.kind,
      bitrate: streams.reduce((sum, stream) => sum + stream.bitrate, 0),
      byteCount: streams.reduce((sum, stream) => sum + stream.byteCount, 0),
      score: streams.length ? Math.min(...streams.map((stream) => stream.score)) : 0,
      packetLossPct: lossPct(streams),
    };
  } catch {
    return undefined; // closed while we asked
  }
}

async function consumerStatsOf(consumer: mediasoupTypes.Consumer): Promise<SfuConsumerStats | undefined> {
  try {
    // A consumer reports its own outbound stream and its producer's inbound ones: count only its own.
    const outbound = (await consumer.getStats()).filter((stream) => stream.type === 'outbound-rtp');
    const layers = (value: mediasoupTypes.ConsumerLayers | undefined) =>
      value ? { spatialLayer: value.spatialLayer, ...(value.temporalLayer === undefined ? {} : { temporalLayer: value.temporalLayer }) } : null;
    return {
      consumerId: consumer.id,
      producerId: consumer.producerId,
      kind: consumer.kind,
      type: consumer.type,
      paused: consumer.paused,
      bitrate: outbound.reduce((sum, stream) => sum + stream.bitrate, 0),
      packetLossPct: lossPct(outbound),
      currentLayers: layers(consumer.currentLayers),
      preferredLayers: layers(consumer.preferredLayers),
    };
  } catch {
    return undefined; // closed while we asked
  }
}

/** Lost packets as a percentage of those expected (received or sent plus lost). */
function lossPct(streams: readonly { packetsLost: number; packetCount: number }[]): number {
  const lost = streams.reduce((sum, stream) => sum + Math.max(0, stream.packetsLost), 0);
  const expected = streams.reduce((sum, stream) => sum + stream.packetCount, 0) + lost;
  return expected === 0 ? 0 : Math.round((lost / expected) * 10_000) / 100;
}
