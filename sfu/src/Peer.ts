import { EventEmitter } from 'node:events';
import type * as mediasoupTypes from 'mediasoup/types';
import type {
  AdmissionClaims,
  PeerRole,
  SignalingCloseCode,
  SignalingCloseReason,
  SignalingNotification,
  TransportDirection,
} from '@mytaek1/contracts';
import { RequestError } from './errors.ts';

/**
 * How the sfu reaches a participant: the WebSocket signaling, or a WHIP/WHEP session, which has no
 * way to renegotiate and ends itself when told to reconnect.
 */
export type PeerChannel = {
  notify(notification: SignalingNotification): void;
  close(code: SignalingCloseCode, reason: SignalingCloseReason): void;
};

export type TransportAppData = { direction: TransportDirection };
export type PeerTransport = mediasoupTypes.WebRtcTransport<TransportAppData>;
export type ProducerAppData = { peerId: string };

export type PeerEvents = {
  /** The peer left or was closed, no matter how. Its transports (and so its media) are closed. */
  closed: [];
};

type PeerCreateOptions = {
  /** This connection's id; the same user may be connected twice (two tabs). */
  id: string;
  claims: AdmissionClaims;
  channel: PeerChannel;
};

/** One participant of a room: its transports, producers and consumers, and its channel for notifications. */
export class Peer extends EventEmitter<PeerEvents> {
  readonly id: string;
  readonly userId: string;
  readonly role: PeerRole;
  readonly displayName: string | undefined;
  readonly #channel: PeerChannel;
  readonly #transports = new Map<string, PeerTransport>();
  readonly #producers = new Map<string, mediasoupTypes.Producer<ProducerAppData>>();
  readonly #consumers = new Map<string, mediasoupTypes.Consumer>();
  #closed = false;

  static create({ id, claims, channel }: PeerCreateOptions): Peer {
    return new Peer(id, claims, channel);
  }

  private constructor(id: string, claims: AdmissionClaims, channel: PeerChannel) {
    super();
    this.id = id;
    this.userId = claims.sub;
    this.role = claims.role;
    this.displayName = claims.name;
    this.#channel = channel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Only a publisher's token lets a peer send media into the show. */
  get mayProduce(): boolean {
    return this.role === 'publisher';
  }

  get transportCount(): number {
    return this.#transports.size;
  }

  get producers(): IterableIterator<mediasoupTypes.Producer<ProducerAppData>> {
    return this.#producers.values();
  }

  get consumers(): IterableIterator<mediasoupTypes.Consumer> {
    return this.#consumers.values();
  }

  notify(notification: SignalingNotification): void {
    if (!this.#closed) this.#channel.notify(notification);
  }

  addTransport(transport: PeerTransport): void {
    this.#transports.set(transport.id, transport);
    // The observer's close fires however the transport closes: by us, by its router, by its worker.
    transport.observer.once('close', () => this.#transports.delete(transport.id));
  }

  /** The caller's own transport of that id; another peer's is as good as absent. */
  transport(transportId: string, direction?: TransportDirection): PeerTransport {
    const transport = this.#transports.get(transportId);
    if (!transport) throw new RequestError('not_found', `no transport ${transportId}`);
    if (direction && transport.appData.direction !== direction) {
      throw new RequestError('bad_request', `transport ${transportId} is a ${transport.appData.direction} transport, not a ${direction} one`);
    }
    return transport;
  }

  addProducer(producer: mediasoupTypes.Producer<ProducerAppData>): void {
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => this.#producers.delete(producer.id));
  }

  producer(producerId: string): mediasoupTypes.Producer<ProducerAppData> {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new RequestError('not_found', `no producer ${producerId}`);
    return producer;
  }

  /**
   * `producerId` is the id the client knows the producer by: a consumer on an edge router may
   * consume a piped copy of it with an id of its own.
   */
  addConsumer(consumer: mediasoupTypes.Consumer, producerId: string = consumer.producerId): void {
    this.#consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.#consumers.delete(consumer.id));
    // Only the producer going away is news to the client; a transport closing is its own doing (or
    // its worker's death, which it hears of as `reconnect`).
    consumer.once('producerclose', () => {
      this.notify({ type: 'notification', method: 'consumerClosed', data: { consumerId: consumer.id, producerId } });
    });
    // The viewer's player shows which quality it receives, and picks layers knowing what it gets.
    consumer.on('layerschange', (layers) => {
      this.notify({
        type: 'notification',
        method: 'consumerLayersChanged',
        data: { consumerId: consumer.id, layers: layers ? { spatialLayer: layers.spatialLayer, temporalLayer: layers.temporalLayer } : null },
      });
    });
  }

  consumer(consumerId: string): mediasoupTypes.Consumer {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) throw new RequestError('not_found', `no consumer ${consumerId}`);
    return consumer;
  }

  /** Drops all media (closing a transport closes its producers and consumers) but keeps the peer. */
  closeMedia(): void {
    for (const transport of this.#transports.values()) transport.close();
    this.#transports.clear();
    this.#producers.clear();
    this.#consumers.clear();
  }

  /**
   * Closes the peer's media and, when a code is given, its channel (when the peer itself left, the
   * channel is gone already). Idempotent.
   */
  close(channelClose?: { code: SignalingCloseCode; reason: SignalingCloseReason }): void {
    if (this.#closed) return;
    // Closed first, so that the notifications our own media's closing triggers are not sent to us.
    this.#closed = true;
    this.closeMedia();
    if (channelClose) this.#channel.close(channelClose.code, channelClose.reason);
    this.emit('closed');
  }
}
