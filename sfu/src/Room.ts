import { EventEmitter } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';
import {
  RtpCapabilities,
  RtpParameters,
  SignalingCloseCode,
  type RoomClosedReason,
  type SfuProducerStats,
  type SfuShowStats,
  type SignalingCloseReason,
  type SignalingMethod,
  type SignalingRequest,
  type SignalingRequestData,
  type SignalingResponseData,
} from '@mytaek1/contracts';
import { RequestError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { mediaCodecs } from './mediaCodecs.ts';
import type { Peer, ProducerAppData } from './Peer.ts';
import type { WorkerPool } from './WorkerPool.ts';

const staticLogger = createLogger('Room');

/** Where transports listen and what address they announce in ICE candidates. */
export type RtcListenOptions = {
  ip: string;
  announcedAddress: string | undefined;
  portRange: { min: number; max: number };
};

/** Why a room closed: what its peers are told, or `idle` when nobody was left to tell. */
export type RoomCloseReason = RoomClosedReason | 'idle';

export type RoomEvents = {
  /** The room closed, no matter how; its router and every peer are closed. */
  closed: [reason: RoomCloseReason];
  /** The room moved to a new worker after its worker died; its peers were told to reconnect. */
  workerreplaced: [workerPid: number];
};

export type RoomCreateOptions = {
  showId: string;
  pool: WorkerPool;
  listen: RtcListenOptions;
  /** How long the room outlives its last peer (and waits for its first). */
  emptyRoomGraceMs: number;
};

type Media = { worker: mediasoupTypes.Worker; router: mediasoupTypes.Router };

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

/**
 * One live show: a mediasoup router on one worker, and the peers (publishers and viewers) in it.
 * Viewers consume the publishers' producers through the same router; spreading a very large show
 * over several routers with `pipeToRouter` builds on this.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly showId: string;
  readonly #pool: WorkerPool;
  readonly #listen: RtcListenOptions;
  readonly #emptyRoomGraceMs: number;
  readonly #logger: Logger;
  readonly #peers = new Map<string, Peer>();
  /** Producers their owner asked to close: the owner needs no `producerClosed` for them. */
  readonly #closedByOwner = new WeakSet<mediasoupTypes.Producer>();
  #media: Media;
  #emptyTimer: NodeJS.Timeout | undefined;
  #closed = false;

  static async create({ showId, pool, listen, emptyRoomGraceMs }: RoomCreateOptions): Promise<Room> {
    const media = await createMedia(pool);
    staticLogger.info('room created', { showId, workerPid: media.worker.pid });
    return new Room(showId, pool, listen, emptyRoomGraceMs, media);
  }

  private constructor(showId: string, pool: WorkerPool, listen: RtcListenOptions, emptyRoomGraceMs: number, media: Media) {
    super();
    this.showId = showId;
    this.#pool = pool;
    this.#listen = listen;
    this.#emptyRoomGraceMs = emptyRoomGraceMs;
    this.#logger = createLogger(`Room:${showId}`);
    this.#media = media;
    this.#pool.on('workerdied', this.#onWorkerDied);
    // A room is created for a peer that is being admitted; if that peer never arrives (it hung up
    // meanwhile), the room must still go away.
    this.#scheduleCloseIfEmpty();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get workerPid(): number {
    return this.#media.worker.pid;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  addPeer(peer: Peer): void {
    if (this.#closed) throw new Error(`room ${this.showId} is closed`);
    this.#cancelEmptyTimer();
    this.#peers.set(peer.id, peer);
    peer.once('closed', () => {
      this.#peers.delete(peer.id);
      this.#scheduleCloseIfEmpty();
    });
    this.#logger.debug('peer joined', { peerId: peer.id, role: peer.role, peers: this.#peers.size });
    // Tell the newcomer what it can watch already; it consumes once its device is loaded.
    for (const other of this.#peers.values()) {
      if (other === peer) continue;
      for (const producer of other.producers) {
        peer.notify({ type: 'notification', method: 'newProducer', data: { producerId: producer.id, kind: producer.kind, peerId: other.id } });
      }
    }
  }

  /** Runs one signaling request of `peer` and returns the response data; throws RequestError to refuse. */
  async handleRequest(peer: Peer, request: SignalingRequest): Promise<SignalingResponseData<SignalingMethod>> {
    if (this.#closed) throw new RequestError('unavailable', 'the room is closed');
    switch (request.method) {
      case 'authenticate':
        throw new RequestError('bad_request', 'already authenticated');
      case 'getRouterRtpCapabilities':
        return { rtpCapabilities: RtpCapabilities.parse(this.#router().rtpCapabilities) };
      case 'createWebRtcTransport':
        return this.#createWebRtcTransport(peer, request.data);
      case 'connectTransport':
        await peer.transport(request.data.transportId).connect({ dtlsParameters: request.data.dtlsParameters });
        return {};
      case 'produce':
        return this.#produce(peer, request.data);
      case 'consume':
        return this.#consume(peer, request.data);
      case 'resumeConsumer':
        await peer.consumer(request.data.consumerId).resume();
        return {};
      case 'closeProducer': {
        const producer = peer.producer(request.data.producerId);
        this.#closedByOwner.add(producer);
        producer.close();
        return {};
      }
    }
  }

  /** Closes the router and every peer (telling them why). Idempotent. */
  close(reason: RoomCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelEmptyTimer();
    this.#pool.off('workerdied', this.#onWorkerDied);
    for (const peer of this.#peers.values()) {
      if (reason !== 'idle') {
        peer.notify({ type: 'notification', method: 'roomClosed', data: { reason } });
        peer.close(CLOSE_FOR_REASON[reason]);
      } else {
        peer.close();
      }
    }
    this.#peers.clear();
    this.#media.router.close();
    this.#logger.info('room closed', { reason });
    this.emit('closed', reason);
  }

  async getStats(): Promise<SfuShowStats> {
    const peers = [...this.#peers.values()];
    const producerStats = await Promise.all(peers.flatMap((peer) => [...peer.producers].map(producerStatsOf)));
    const consumerBitrates = await Promise.all(peers.flatMap((peer) => [...peer.consumers].map(consumerBitrateOf)));
    const producers = producerStats.filter((stats) => stats !== undefined);
    return {
      show: this.showId,
      workerPid: this.workerPid,
      publishers: peers.filter((peer) => peer.role === 'publisher').length,
      viewers: peers.filter((peer) => peer.role !== 'publisher').length,
      producers,
      consumers: consumerBitrates.length,
      ingressBitrate: producers.reduce((sum, producer) => sum + producer.bitrate, 0),
      egressBitrate: consumerBitrates.reduce((sum, bitrate) => sum + bitrate, 0),
    };
  }

  #router(): mediasoupTypes.Router {
    const { router } = this.#media;
    // Between a worker's death and the room's move to a new one, there is nothing to route with.
    if (router.closed) throw new RequestError('unavailable', 'the media worker is being replaced; wait for the reconnect notification');
    return router;
  }

  async #createWebRtcTransport(peer: Peer, { direction }: SignalingRequestData<'createWebRtcTransport'>): Promise<SignalingResponseData<'createWebRtcTransport'>> {
    // Refuse before creating anything: a viewer never needs a send transport.
    if (direction === 'send' && !peer.mayProduce) throw new RequestError('forbidden', 'only a publisher may send media');
    if (peer.transportCount >= MAX_TRANSPORTS_PER_PEER) throw new RequestError('forbidden', `at most ${MAX_TRANSPORTS_PER_PEER} transports per peer`);
    const { ip, announcedAddress, portRange } = this.#listen;
    const listenInfo = (protocol: mediasoupTypes.TransportProtocol): mediasoupTypes.TransportListenInfo => ({ protocol, ip, announcedAddress, portRange });
    const transport = await this.#router().createWebRtcTransport({
      listenInfos: [listenInfo('udp'), listenInfo('tcp')],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: INITIAL_AVAILABLE_OUTGOING_BITRATE,
      appData: { direction },
    });
    if (peer.closed) {
      // The peer left while the transport was being created.
      transport.close();
      throw new RequestError('unavailable', 'the peer left');
    }
    peer.addTransport(transport);
    return {
      transportId: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async #produce(peer: Peer, { transportId, kind, rtpParameters }: SignalingRequestData<'produce'>): Promise<SignalingResponseData<'produce'>> {
    if (!peer.mayProduce) throw new RequestError('forbidden', 'only a publisher may produce');
    const transport = peer.transport(transportId, 'send');
    const router = this.#router();
    const producer = await transport.produce<ProducerAppData>({ kind, rtpParameters, appData: { peerId: peer.id } });
    peer.addProducer(producer);
    producer.observer.once('close', () => {
      // When the router itself is closing (room closed, worker died) peers hear of that instead.
      if (this.#closed || router.closed) return;
      for (const other of this.#peers.values()) {
        if (other === peer && this.#closedByOwner.has(producer)) continue;
        other.notify({ type: 'notification', method: 'producerClosed', data: { producerId: producer.id } });
      }
    });
    for (const other of this.#peers.values()) {
      if (other === peer) continue;
      other.notify({ type: 'notification', method: 'newProducer', data: { producerId: producer.id, kind: producer.kind, peerId: peer.id } });
    }
    return { producerId: producer.id };
  }

  async #consume(peer: Peer, { transportId, producerId, rtpCapabilities }: SignalingRequestData<'consume'>): Promise<SignalingResponseData<'consume'>> {
    const transport = peer.transport(transportId, 'recv');
    const router = this.#router();
    if (!this.#findProducer(producerId)) throw new RequestError('not_found', `no producer ${producerId} in this show`);
    if (!router.canConsume({ producerId, rtpCapabilities })) {
      throw new RequestError('cannot_consume', `these RTP capabilities cannot receive producer ${producerId}`);
    }
    const consumer = await transport.consume({ producerId, rtpCapabilities, paused: true });
    peer.addConsumer(consumer);
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

  #findProducer(producerId: string): mediasoupTypes.Producer | undefined {
    for (const peer of this.#peers.values()) {
      for (const producer of peer.producers) if (producer.id === producerId) return producer;
    }
    return undefined;
  }

  /** An arrow function, so that it can be removed from the pool's listeners on close. */
  readonly #onWorkerDied = (deadWorker: mediasoupTypes.Worker): void => {
    if (deadWorker !== this.#media.worker || this.#closed) return;
    void this.#moveToNewWorker();
  };

  /**
   * The worker died with every transport of this room. The signaling sessions are intact, so keep
   * them: take a router on a live worker and tell everyone to set up their media again.
   */
  async #moveToNewWorker(): Promise<void> {
    const deadPid = this.#media.worker.pid;
    for (const peer of this.#peers.values()) peer.closeMedia();
    let media: Media;
    try {
      media = await createMedia(this.#pool);
    } catch (error) {
      this.#logger.error('no worker could take the room', { error });
      this.close('worker_lost');
      return;
    }
    if (this.#closed) {
      media.router.close();
      return;
    }
    this.#media = media;
    this.#logger.warn('room moved to a new worker', { deadPid, workerPid: media.worker.pid });
    for (const peer of this.#peers.values()) {
      peer.notify({ type: 'notification', method: 'reconnect', data: { reason: 'worker_died' } });
    }
    this.emit('workerreplaced', media.worker.pid);
  }

  #scheduleCloseIfEmpty(): void {
    if (this.#closed || this.#peers.size > 0 || this.#emptyTimer) return;
    this.#emptyTimer = setTimeout(() => {
      this.#emptyTimer = undefined;
      if (this.#peers.size === 0) this.close('idle');
    }, this.#emptyRoomGraceMs);
    // An empty room waiting out its grace period is no reason to keep the process alive.
    this.#emptyTimer.unref();
  }

  #cancelEmptyTimer(): void {
    clearTimeout(this.#emptyTimer);
    this.#emptyTimer = undefined;
  }
}

async function createMedia(pool: WorkerPool): Promise<Media> {
  const worker = pool.pick();
  const router = await worker.createRouter({ mediaCodecs });
  return { worker, router };
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
    };
  } catch {
    return undefined; // closed while we asked
  }
}

async function consumerBitrateOf(consumer: mediasoupTypes.Consumer): Promise<number> {
  try {
    // A consumer reports its own outbound stream and its producer's inbound ones: count only its own.
    const streams = await consumer.getStats();
    return streams.filter((stream) => stream.type === 'outbound-rtp').reduce((sum, stream) => sum + stream.bitrate, 0);
  } catch {
    return 0;
  }
}
