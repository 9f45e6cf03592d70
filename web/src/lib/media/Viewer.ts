import { Device, parseScalabilityMode, type types as msc } from 'mediasoup-client';
import { DtlsParameters, RtpCapabilities, type MediaKind, type SignalingNotification } from '@mytaek1/contracts';
import { clientRtpCapabilities, clientRtpParameters } from './clientTypes.ts';
import { BandwidthGovernor, chooseSpatialLayer, estimateSpatialLayer } from './layers.ts';
import { PUBLISH_VIDEO_CONSTRAINTS } from './settings.ts';
import type { SfuPreconnection } from './sfuPreconnect.ts';
import { SfuSession, type Admission, type GrantProvider, type SessionMedia, type SessionState } from './SfuSession.ts';
import { SignalingRequestError, type SignalingConnection } from './SignalingConnection.ts';
import { watchTransport } from './transportWatch.ts';

export type ViewerState =
  | { kind: 'connecting' }
  /** Admitted, but the seller's video is not (or no longer) there. */
  | { kind: 'waiting' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; attempt: number; retryAt: number; cause: string }
  | { kind: 'ended' }
  | { kind: 'refused'; reason: string; message: string }
  | { kind: 'stopped' };

/** What the viewer receives of the video, for display. */
export type ReceivedLayer = {
  /** The spatial layer forwarded (0 is the smallest), or undefined before any frame. */
  spatialLayer: number | undefined;
  temporalLayer: number | undefined;
  /** How many spatial layers the seller sends (1 without simulcast). */
  spatialLayers: number;
  /** True when the sfu reported the layer; false when it is inferred from the frame size. */
  exact: boolean;
  /** The layer asked for (by player size and bandwidth), when simulcast. */
  preferredSpatialLayer: number | undefined;
  width: number;
  height: number;
  framesPerSecond: number | undefined;
  /** Received video bitrate over the last interval, bits per second. */
  bitrate: number | undefined;
};

export type ViewerOptions = {
  sfuUrl: string;
  showId: string;
  /** A viewer token for the show: `POST /v1/shows/{id}/sfu-token`. */
  getGrant: GrantProvider;
  onState?: (state: ViewerState) => void;
  /** The media to show: a new stream whenever the set of tracks changes, null when there is none. */
  onStream?: (stream: MediaStream | null) => void;
  onLayer?: (layer: ReceivedLayer) => void;
  /**
   * Asked when the seller's tracks are gone (and now and then while they stay gone): has the show
   * ended? When it has, the viewer stops and reports `ended`.
   */
  isShowEnded?: () => Promise<boolean>;
  /** How often receive statistics are read (layer display, bandwidth governor). */
  statsIntervalMs?: number;
  /** The socket the page's script opened ahead with `viewerOpeningRequests` (sfuPreconnect.ts; see SfuSession). */
  takePreconnection?: (url: string) => SfuPreconnection | undefined;
};

type ConsumerEntry = {
  consumer: msc.Consumer;
  kind: MediaKind;
  spatialLayers: number;
  temporalLayers: number;
  /** From the sfu's consumerLayersChanged, when it sends them. */
  layers: { spatialLayer: number; temporalLayer?: number | undefined } | null | undefined;
  governor: BandwidthGovernor;
  preferred: number | undefined;
};

/** While the seller is away, ask this often whether the show ended. */
const ENDED_POLL_MS = 10_000;

/**
 * A shopper's side of a live show: a receive transport, a consumer for every producer in the show
 * (resumed once set up), the tracks as one MediaStream, and a simulcast layer fitted to the player's
 * size and to the network. It reconnects by itself (fresh token, new transports) after a network
 * drop or an sfu restart, and stops when the show ends.
 */
export class Viewer implements SessionMedia {
  readonly #options: ViewerOptions;
  readonly #session: SfuSession;
  #state: ViewerState = { kind: 'connecting' };
  #connection: SignalingConnection | undefined;
  #device: Device | undefined;
  #transport: msc.Transport | undefined;
  #unwatch: (() => void) | undefined;
  /** Producers announced on the current connection (and not closed since). */
  readonly #producers = new Map<string, MediaKind>();
  readonly #consuming = new Set<string>();
  readonly #consumers = new Map<string, ConsumerEntry>();
  #stream: MediaStream | null = null;
  #displayHeight = 0;
  /** The tallest frame seen: the top layer's height, once the top layer was received. */
  #tallestFrame = 0;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #endedTimer: ReturnType<typeof setInterval> | undefined;
  #lastBytes: { at: number; bytes: number } | undefined;
  #ended = false;

  constructor(options: ViewerOptions) {
    this.#options = options;
    this.#session = new SfuSession({
      sfuUrl: options.sfuUrl,
      showId: options.showId,
      getGrant: options.getGrant,
      takePreconnection: options.takePreconnection,
      media: this,
      onState: (state) => this.#onSessionState(state),
    });
  }

  get state(): ViewerState {
    return this.#state;
  }

  start(): void {
    void this.#session.start();
    this.#statsTimer = setInterval(() => void this.#readStats(), this.#options.statsIntervalMs ?? 1_000);
  }

  async stop(): Promise<void> {
    clearInterval(this.#statsTimer);
    clearInterval(this.#endedTimer);
    await this.#session.stop();
    this.#publishStream();
  }

  /** The player's size in CSS pixels; the layer asked for follows it (times the device pixel ratio). */
  setDisplaySize(_width: number, height: number): void {
    const ratio = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
    const displayHeight = Math.round(height * ratio);
    if (displayHeight === this.#displayHeight) return;
    this.#displayHeight = displayHeight;
    this.#applyPreferredLayers();
  }

  // SessionMedia ---------------------------------------------------------------------------------

  async setup(connection: SignalingConnection, _admission: Admission): Promise<void> {
    this.#connection = connection;
    // Everything that does not wait on something else goes at once: a shopper opening the page
    // waits for the slowest of these, not for their sum. The two requests are those of
    // `viewerOpeningRequests`: on a socket the page opened ahead, their answers are usually here already.
    const [{ rtpCapabilities }, device, created] = await Promise.all([
      connection.request('getRouterRtpCapabilities', {}),
      Device.factory(),
      connection.request('createWebRtcTransport', { direction: 'recv' }),
    ]);
    await device.load({ routerRtpCapabilities: clientRtpCapabilities(rtpCapabilities) });
    const transport = device.createRecvTransport({
      id: created.transportId,
      iceParameters: created.iceParameters,
      iceCandidates: created.iceCandidates,
      dtlsParameters: created.dtlsParameters,
    });
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      connection.request('connectTransport', { transportId: transport.id, dtlsParameters: DtlsParameters.parse(dtlsParameters) }).then(() => callback(), errback);
    });
    this.#device = device;
    this.#transport = transport;
    this.#unwatch = watchTransport(transport, (cause) => this.#session.restart(cause));
    // Producers announced on admission came before the device was ready: consume them now.
    await Promise.all([...this.#producers].map(([producerId, kind]) => this.#consume(producerId, kind)));
  }

  teardown(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#transport?.close();
    this.#transport = undefined;
    this.#device = undefined;
    this.#producers.clear();
    this.#consuming.clear();
    this.#consumers.clear();
    this.#lastBytes = undefined;
    this.#previousSample = undefined;
    this.#publishStream();
  }

  onNotification(notification: SignalingNotification, connection: SignalingConnection): void {
    switch (notification.method) {
      case 'newProducer': {
        const { producerId, kind } = notification.data;
        this.#producers.set(producerId, kind);
        if (this.#transport && connection === this.#connection) void this.#consume(producerId, kind);
        return;
      }
      case 'producerClosed':
        this.#producers.delete(notification.data.producerId);
        for (const [consumerId, entry] of this.#consumers) {
          if (entry.consumer.producerId === notification.data.producerId) this.#dropConsumer(consumerId);
        }
        return;
      case 'consumerClosed':
        this.#producers.delete(notification.data.producerId);
        this.#dropConsumer(notification.data.consumerId);
        return;
      case 'consumerLayersChanged': {
        const entry = this.#consumers.get(notification.data.consumerId);
        if (!entry) return;
        entry.layers = notification.data.layers;
        this.#emitLayer(entry);
        return;
      }
      default:
        return;
    }
  }

  // ----------------------------------------------------------------------------------------------

  async #consume(producerId: string, kind: MediaKind): Promise<void> {
    const connection = this.#connection;
    const transport = this.#transport;
    const device = this.#device;
    if (!connection || !transport || !device || this.#consuming.has(producerId)) return;
    this.#consuming.add(producerId);
    try {
      const answer = await connection.request('consume', {
        transportId: transport.id,
        producerId,
        rtpCapabilities: RtpCapabilities.parse(device.recvRtpCapabilities),
      });
      const consumer = await transport.consume({ id: answer.consumerId, producerId, kind: answer.kind, rtpParameters: clientRtpParameters(answer.rtpParameters) });
      if (transport !== this.#transport || !this.#producers.has(producerId)) {
        consumer.close();
        return;
      }
      const { spatialLayers, temporalLayers } = parseScalabilityMode(answer.rtpParameters.encodings?.[0]?.scalabilityMode);
      const simulcast = answer.type === 'simulcast' || answer.type === 'svc';
      this.#consumers.set(consumer.id, {
        consumer,
        kind,
        spatialLayers: simulcast ? spatialLayers : 1,
        temporalLayers: simulcast ? temporalLayers : 1,
        layers: undefined,
        governor: new BandwidthGovernor(simulcast ? spatialLayers : 1),
        preferred: undefined,
      });
      // Paused by the sfu until now, so that the first key frame arrives once we can use it.
      await connection.request('resumeConsumer', { consumerId: consumer.id });
      this.#applyPreferredLayers();
      this.#publishStream();
    } catch (error) {
      this.#consuming.delete(producerId);
      // The producer went away meanwhile: nothing to watch there.
      if (error instanceof SignalingRequestError && error.code === 'not_found') return;
      if (transport !== this.#transport) return;
      console.warn(`viewer: could not consume producer ${producerId}`, error);
      if (error instanceof SignalingRequestError && error.code === 'cannot_consume') return;
      this.#session.restart('could not receive the seller’s media');
    }
  }

  #dropConsumer(consumerId: string): void {
    const entry = this.#consumers.get(consumerId);
    if (!entry) return;
    this.#consumers.delete(consumerId);
    this.#consuming.delete(entry.consumer.producerId);
    entry.consumer.close();
    this.#publishStream();
  }

  #videoEntry(): ConsumerEntry | undefined {
    for (const entry of this.#consumers.values()) if (entry.kind === 'video') return entry;
    return undefined;
  }

  /** Hands a new MediaStream to the page when the set of tracks changed. */
  #publishStream(): void {
    const tracks = [...this.#consumers.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1)).map((entry) => entry.consumer.track);
    const current = this.#stream?.getTracks() ?? [];
    if (tracks.length === current.length && tracks.every((track, i) => track === current[i])) {
      this.#updateState();
      return;
    }
    this.#stream = tracks.length ? new MediaStream(tracks) : null;
    this.#options.onStream?.(this.#stream);
    this.#updateState();
  }

  #onSessionState(state: SessionState): void {
    if (state.kind === 'connected') {
      this.#updateState();
      return;
    }
    if (state.kind === 'stopped' && this.#ended) {
      this.#setState({ kind: 'ended' });
      return;
    }
    this.#setState(state);
  }

  #updateState(): void {
    if (this.#session.state.kind !== 'connected' || this.#ended) return;
    const live = this.#videoEntry() !== undefined;
    const next: ViewerState = live ? { kind: 'live' } : { kind: 'waiting' };
    if (next.kind !== this.#state.kind) this.#setState(next);
  }

  #setState(state: ViewerState): void {
    const previous = this.#state.kind;
    this.#state = state;
    this.#options.onState?.(state);
    if (state.kind === 'waiting' && previous !== 'waiting') this.#watchForEnd();
    if (state.kind !== 'waiting') {
      clearInterval(this.#endedTimer);
      this.#endedTimer = undefined;
    }
  }

  /** While there is nothing to watch, ask whether the show is over: now, then every few seconds. */
  #watchForEnd(): void {
    const { isShowEnded } = this.#options;
    if (!isShowEnded) return;
    const check = async () => {
      try {
        if (this.#state.kind === 'waiting' && (await isShowEnded()) && this.#state.kind === 'waiting') {
          this.#ended = true;
          clearInterval(this.#statsTimer);
          clearInterval(this.#endedTimer);
          await this.#session.stop();
        }
      } catch {
        // Could not tell: ask again later.
      }
    };
    clearInterval(this.#endedTimer);
    this.#endedTimer = setInterval(() => void check(), ENDED_POLL_MS);
    void check();
  }

  /** The seller's top layer height: measured once the sfu's layer and the frame size agree, else a guess. */
  #topHeight(): number {
    return this.#sourceHeight ?? Math.max(this.#tallestFrame, PUBLISH_VIDEO_CONSTRAINTS.height.ideal);
  }

  /** Measured from a frame height and the layer the sfu said it forwards, when both held still for one stats interval. */
  #sourceHeight: number | undefined;
  #previousSample: { layer: number | undefined; height: number } | undefined;

  /** Asks the sfu for the layer that fits the player and the network, when it changed. */
  #applyPreferredLayers(): void {
    const connection = this.#connection;
    if (!connection?.isOpen) return;
    for (const [consumerId, entry] of this.#consumers) {
      if (entry.kind !== 'video' || entry.spatialLayers < 2) continue;
      const wanted = chooseSpatialLayer({
        spatialLayers: entry.spatialLayers,
        sourceHeight: this.#topHeight(),
        displayHeight: this.#displayHeight,
        cap: entry.governor.cap,
      });
      if (wanted === entry.preferred) continue;
      entry.preferred = wanted;
      connection.request('setConsumerPreferredLayers', { consumerId, spatialLayer: wanted, temporalLayer: entry.temporalLayers - 1 }).catch((error: unknown) => {
        // Asked again at the next stats tick.
        entry.preferred = undefined;
      });
    }
  }

  async #readStats(): Promise<void> {
    const entry = this.#videoEntry();
    if (!entry || entry.consumer.closed) return;
    let report: RTCStatsReport;
    try {
      report = await entry.consumer.getStats();
    } catch {
      return;
    }
    let inbound: Record<string, unknown> | undefined;
    report.forEach((stats: Record<string, unknown>) => {
      if (stats.type === 'inbound-rtp' && stats.kind === 'video') inbound = stats;
    });
    if (!inbound) return;
    const number = (key: string): number | undefined => (typeof inbound?.[key] === 'number' ? (inbound[key] as number) : undefined);
    const at = performance.now();
    const height = number('frameHeight') ?? 0;
    const bytes = number('bytesReceived') ?? 0;
    let bitrate: number | undefined;
    if (this.#lastBytes && at > this.#lastBytes.at) bitrate = Math.max(0, ((bytes - this.#lastBytes.bytes) * 8 * 1000) / (at - this.#lastBytes.at));
    this.#lastBytes = { at, bytes };
    if (height > 0) this.#tallestFrame = Math.max(this.#tallestFrame, height);
    // Right after a layer switch the sfu's word and the decoded frames disagree for a moment: trust
    // them together only when neither changed since the previous interval.
    const layerNow = entry.layers?.spatialLayer;
    const previous = this.#previousSample;
    this.#previousSample = { layer: layerNow, height };
    if (layerNow !== undefined && height > 0 && previous?.layer === layerNow && previous.height === height) {
      const measured = height * 2 ** (entry.spatialLayers - 1 - layerNow);
      if (measured !== this.#sourceHeight) {
        this.#sourceHeight = measured;
        this.#applyPreferredLayers();
      }
    }
    const capBefore = entry.governor.cap;
    entry.governor.update({ at, packetsReceived: number('packetsReceived') ?? 0, packetsLost: number('packetsLost') ?? 0, freezeCount: number('freezeCount') });
    if (entry.governor.cap !== capBefore) this.#applyPreferredLayers();
    this.#emitLayer(entry, { width: number('frameWidth') ?? 0, height, framesPerSecond: number('framesPerSecond'), bitrate });
  }

  #lastLayer: ReceivedLayer | undefined;

  #emitLayer(entry: ConsumerEntry, frame?: { width: number; height: number; framesPerSecond: number | undefined; bitrate: number | undefined }): void {
    const previous = this.#lastLayer;
    const width = frame?.width ?? previous?.width ?? 0;
    const height = frame?.height ?? previous?.height ?? 0;
    const exact = entry.layers !== undefined;
    let spatialLayer: number | undefined;
    let temporalLayer: number | undefined;
    if (entry.layers) {
      spatialLayer = entry.layers.spatialLayer;
      temporalLayer = entry.layers.temporalLayer;
    } else if (entry.layers === undefined && height > 0) {
      spatialLayer = estimateSpatialLayer(height, entry.spatialLayers, this.#topHeight());
    }
    const layer: ReceivedLayer = {
      spatialLayer,
      temporalLayer,
      spatialLayers: entry.spatialLayers,
      exact,
      preferredSpatialLayer: entry.preferred,
      width,
      height,
      framesPerSecond: frame ? frame.framesPerSecond : previous?.framesPerSecond,
      bitrate: frame ? frame.bitrate : previous?.bitrate,
    };
    this.#lastLayer = layer;
    this.#options.onLayer?.(layer);
  }
}

