import type * as mediasoupTypes from 'mediasoup/types';
import type { SfuRouterStats } from '@mytaek1/contracts';
import type { Logger } from './logger.ts';
import { mediaCodecs } from './mediaCodecs.ts';
import { INGRESS_RECV_BUFFER_BYTES } from './socketBuffers.ts';
import type { WorkerPool } from './WorkerPool.ts';

/**
 * What a router routes, and the payload types it routes it with. mediasoup sends a consumer's RTP
 * with its router's payload types, so a receiver that cannot be told the router's payload types (a
 * WHEP player: it makes the SDP offer, and the answer must keep its payload types) is served from a
 * router whose codecs carry that receiver's payload types. Routers with the same key are
 * interchangeable.
 */
export type RouterProfile = { key: string; mediaCodecs: mediasoupTypes.RouterRtpCodecCapability[] };

/** The show's own codecs and payload types: the origin's, and every WebSocket viewer's. */
export const DEFAULT_ROUTER_PROFILE: RouterProfile = { key: 'default', mediaCodecs };

export type RouterRole = 'origin' | 'edge';

/** One router of the show. */
export type ShowRouter = {
  readonly router: mediasoupTypes.Router;
  readonly worker: mediasoupTypes.Worker;
  readonly role: RouterRole;
  readonly profile: string;
};

/** A viewer's place on a router, held from the moment it is chosen so that concurrent viewers count. */
export type ViewerSlot = {
  readonly router: mediasoupTypes.Router;
  readonly role: RouterRole;
  /** Ties the slot to the receive transport created on `router`; the slot lasts as long as the transport. */
  bind(transport: mediasoupTypes.Transport): void;
  /** Gives the slot back when no transport could be created. */
  release(): void;
};

export type ShowRoutersOptions = {
  showId: string;
  pool: WorkerPool;
  /** A router takes no new viewer once its viewers' consumers (counted or expected) would pass this. */
  maxConsumersPerRouter: number;
  /** An edge router left without viewers is closed after this long (its pipes with it). */
  edgeIdleMs: number;
  logger: Logger;
};

type Viewer = {
  peerId: string;
  /** Consumers expected when the viewer was placed (one per producer of the show then). */
  reserved: number;
  consumers: number;
};

type Entry = ShowRouter & {
  /** By receive transport id (or a provisional key until the transport exists). */
  viewers: Map<string, Viewer>;
  /** Origin producer id to the id of the producer piped into this (edge) router. */
  piped: Map<string, Promise<string>>;
  idleTimer: NodeJS.Timeout | undefined;
};

export type WorkerLoss = {
  /** The origin router was on the dead worker: every producer and consumer of the show is gone. */
  originLost: boolean;
  /** Peers whose receive transports were on edge routers of the dead worker. */
  peersLost: Set<string>;
};

/**
 * The routers of one show in this process. Producers live on the origin router. Viewers are placed
 * on the first router of their profile with room for them (the origin first); when every such
 * router is full, a new edge router is opened on another worker and fed from the origin with
 * `router.pipeToRouter`, once per producer, and then once for every producer that appears later.
 * The viewer never knows: it consumes the same producer ids wherever it lands.
 */
export class ShowRouters {
  readonly #showId: string;
  readonly #pool: WorkerPool;
  readonly #maxConsumersPerRouter: number;
  readonly #edgeIdleMs: number;
  readonly #logger: Logger;
  #originEntry: Entry;
  /** The origin first, then edges in the order they opened. */
  #entries: Entry[];
  readonly #producers = new Map<string, mediasoupTypes.Producer>();
  /** Where each viewer transport is, by transport id. */
  readonly #viewerEntries = new Map<string, Entry>();
  /** Placements run one at a time: two viewers arriving together must not both open an edge. */
  #placing: Promise<unknown> = Promise.resolve();
  #nextSlot = 0;
  #closed = false;

  static async create(options: ShowRoutersOptions): Promise<ShowRouters> {
    const origin = await createEntry(options.pool.pick(), 'origin', DEFAULT_ROUTER_PROFILE);
    return new ShowRouters(options, origin);
  }

  private constructor({ showId, pool, maxConsumersPerRouter, edgeIdleMs, logger }: ShowRoutersOptions, origin: Entry) {
    this.#showId = showId;
    this.#pool = pool;
    this.#maxConsumersPerRouter = maxConsumersPerRouter;
    this.#edgeIdleMs = edgeIdleMs;
    this.#logger = logger;
    this.#originEntry = origin;
    this.#entries = [origin];
  }

  get origin(): ShowRouter {
    return this.#origin;
  }

  get #origin(): Entry {
    return this.#originEntry;
  }

  list(): readonly ShowRouter[] {
    return this.#entries;
  }

  /** The router a viewer transport was placed on. */
  routerOf(transportId: string): ShowRouter | undefined {
    return this.#viewerEntries.get(transportId);
  }

  stats(): SfuRouterStats[] {
    return this.#entries.map((entry) => ({
      routerId: entry.router.id,
      workerPid: entry.worker.pid,
      role: entry.role,
      viewers: entry.viewers.size,
      consumers: [...entry.viewers.values()].reduce((sum, viewer) => sum + viewer.consumers, 0),
    }));
  }

  /** A producer of the show, on the origin router: piped to every edge now, and to every later edge. */
  addProducer(producer: mediasoupTypes.Producer): void {
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      this.#producers.delete(producer.id);
      for (const entry of this.#entries) entry.piped.delete(producer.id);
    });
    for (const entry of this.#entries) {
      if (entry.role === 'edge') this.#pipe(entry, producer.id).catch((error: unknown) => this.#pipeFailed(entry, producer.id, error));
    }
  }

  /**
   * Chooses a router for a new viewer expecting `expectedConsumers` consumers, opening an edge when
   * every router of its profile is full. The slot counts against the router at once.
   */
  placeViewer({ peerId, profile = DEFAULT_ROUTER_PROFILE, expectedConsumers }: { peerId: string; profile?: RouterProfile; expectedConsumers: number }): Promise<ViewerSlot> {
    const placed = this.#placing.then(() => this.#place(peerId, profile, Math.max(1, expectedConsumers)));
    this.#placing = placed.catch(() => {});
    return placed;
  }

  /**
   * The id under which `producerId` (an origin producer) can be consumed on the viewer transport's
   * router: itself on the origin, its piped copy on an edge (piped now if it was not yet).
   */
  async localProducerId(transportId: string, producerId: string): Promise<string> {
    const entry = this.#viewerEntries.get(transportId);
    if (!entry || entry.role === 'origin') return producerId;
    return this.#pipe(entry, producerId);
  }

  /**
   * Accounts for a dead worker. The caller moves everything when the origin was on it; otherwise the
   * edges on it are dropped and the viewers who were there must set up their media again.
   */
  onWorkerDied(deadWorker: mediasoupTypes.Worker): WorkerLoss {
    if (this.#origin.worker === deadWorker) return { originLost: true, peersLost: new Set() };
    const peersLost = new Set<string>();
    for (const entry of [...this.#entries]) {
      if (entry.worker !== deadWorker) continue;
      for (const viewer of entry.viewers.values()) peersLost.add(viewer.peerId);
      this.#dropEntry(entry);
    }
    return { originLost: false, peersLost };
  }

  /** After the origin's worker died: closes every edge and opens a new origin on a live worker. */
  async replaceOrigin(): Promise<ShowRouter> {
    const origin = await createEntry(this.#pool.pick(), 'origin', DEFAULT_ROUTER_PROFILE);
    if (this.#closed) {
      origin.router.close();
      throw new Error('the show is closed');
    }
    for (const entry of [...this.#entries]) this.#dropEntry(entry);
    this.#originEntry = origin;
    this.#entries = [origin];
    this.#producers.clear();
    return origin;
  }

  /** Closes every router. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Edges first: the origin's closing would otherwise close their pipes one by one under them.
    for (const entry of [...this.#entries].reverse()) this.#dropEntry(entry);
  }

  async #place(peerId: string, profile: RouterProfile, expected: number): Promise<ViewerSlot> {
    if (this.#closed) throw new Error('the show is closed');
    let entry = this.#entries.find((candidate) => candidate.profile === profile.key && !candidate.router.closed && this.#fits(candidate, expected));
    if (!entry) entry = await this.#openEdge(profile);
    return this.#reserve(entry, peerId, expected);
  }

  /** An empty router always fits: a viewer needing more than the threshold still has to go somewhere. */
  #fits(entry: Entry, expected: number): boolean {
    if (entry.viewers.size === 0) return true;
    let load = 0;
    for (const viewer of entry.viewers.values()) load += Math.max(viewer.consumers, viewer.reserved);
    return load + expected <= this.#maxConsumersPerRouter;
  }

  async #openEdge(profile: RouterProfile): Promise<Entry> {
    const busy = new Set(this.#entries.map((entry) => entry.worker));
    const entry = await createEntry(this.#pool.pickAvoiding(busy), 'edge', profile);
    if (this.#closed) {
      entry.router.close();
      throw new Error('the show is closed');
    }
    this.#entries.push(entry);
    this.#logger.info('edge router opened', {
      show: this.#showId,
      profile: profile.key,
      workerPid: entry.worker.pid,
      routers: this.#entries.length,
      producers: this.#producers.size,
    });
    // Piped before the first viewer lands, so that its first consume finds every producer.
    await Promise.all(
      [...this.#producers.keys()].map((producerId) => this.#pipe(entry, producerId).catch((error: unknown) => this.#pipeFailed(entry, producerId, error))),
    );
    this.#scheduleIdleClose(entry);
    return entry;
  }

  #reserve(entry: Entry, peerId: string, expected: number): ViewerSlot {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    const viewer: Viewer = { peerId, reserved: expected, consumers: 0 };
    let key = `slot:${this.#nextSlot++}`;
    entry.viewers.set(key, viewer);
    let settled = false;
    return {
      router: entry.router,
      role: entry.role,
      bind: (transport) => {
        if (settled) throw new Error('viewer slot already settled');
        settled = true;
        entry.viewers.delete(key);
        key = transport.id;
        entry.viewers.set(key, viewer);
        this.#viewerEntries.set(transport.id, entry);
        transport.observer.on('newconsumer', (consumer) => {
          viewer.consumers++;
          consumer.observer.once('close', () => viewer.consumers--);
        });
        transport.observer.once('close', () => {
          this.#viewerEntries.delete(transport.id);
          // A router that closed (its worker died) keeps its viewers on record: onWorkerDied needs them.
          if (entry.router.closed) return;
          entry.viewers.delete(transport.id);
          this.#scheduleIdleClose(entry);
        });
      },
      release: () => {
        if (settled) return;
        settled = true;
        entry.viewers.delete(key);
        this.#scheduleIdleClose(entry);
      },
    };
  }

  /** Pipes an origin producer into an edge router, once; resolves with the piped producer's id. */
  #pipe(entry: Entry, producerId: string): Promise<string> {
    let piping = entry.piped.get(producerId);
    if (!piping) {
      const origin = this.#origin;
      // pipeToRouter keeps the producer's id only between routers of different workers.
      const keepId = entry.worker !== origin.worker;
      piping = origin.router
        .pipeToRouter({ producerId, router: entry.router, keepId, listenInfo: { protocol: 'udp', ip: '127.0.0.1', recvBufferSize: INGRESS_RECV_BUFFER_BYTES } })
        .then(({ pipeProducer }) => {
          if (!pipeProducer) throw new Error(`pipeToRouter gave no producer for ${producerId}`);
          return pipeProducer.id;
        });
      entry.piped.set(producerId, piping);
      piping.catch(() => {
        if (entry.piped.get(producerId) === piping) entry.piped.delete(producerId);
      });
    }
    return piping;
  }

  #pipeFailed(entry: Entry, producerId: string, error: unknown): void {
    if (this.#closed || entry.router.closed || !this.#producers.has(producerId)) return;
    // An edge of a WHEP profile routes only the codecs its viewers asked for: a producer in another
    // codec has no one there to go to.
    this.#logger.warn('could not pipe a producer to an edge router', { show: this.#showId, producerId, profile: entry.profile, error });
  }

  #scheduleIdleClose(entry: Entry): void {
    if (entry.role !== 'edge' || entry.viewers.size > 0 || entry.idleTimer || this.#closed) return;
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.viewers.size > 0) return;
      this.#dropEntry(entry);
      this.#logger.info('idle edge router closed', { show: this.#showId, workerPid: entry.worker.pid, routers: this.#entries.length });
    }, this.#edgeIdleMs);
    entry.idleTimer.unref();
  }

  #dropEntry(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    this.#entries = this.#entries.filter((candidate) => candidate !== entry);
    for (const transportId of entry.viewers.keys()) this.#viewerEntries.delete(transportId);
    entry.viewers.clear();
    entry.piped.clear();
    // Closing an edge closes the pipe transports at both ends, and with them the origin's pipe consumers.
    entry.router.close();
  }
}

async function createEntry(worker: mediasoupTypes.Worker, role: RouterRole, profile: RouterProfile): Promise<Entry> {
  const router = await worker.createRouter({ mediaCodecs: profile.mediaCodecs });
  return { router, worker, role, profile: profile.key, viewers: new Map(), piped: new Map(), idleTimer: undefined };
}
