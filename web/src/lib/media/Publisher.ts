import { Device, type types as msc } from 'mediasoup-client';
import { DtlsParameters, RtpParameters, type MediaKind, type SignalingNotification } from '@mytaek1/contracts';
import { clientRtpCapabilities } from './clientTypes.ts';
import { SfuSession, type Admission, type GrantProvider, type SessionMedia, type SessionState } from './SfuSession.ts';
import type { SignalingConnection } from './SignalingConnection.ts';
import { SIMULCAST_ENCODINGS } from './settings.ts';
import { watchTransport } from './transportWatch.ts';

export { PUBLISH_AUDIO_CONSTRAINTS, PUBLISH_VIDEO_CONSTRAINTS, SIMULCAST_ENCODINGS } from './settings.ts';

/** The encoder starts near the top layer's rate instead of ramping up from 300 kbps for seconds. */
const VIDEO_CODEC_OPTIONS: msc.ProducerCodecOptions = { videoGoogleStartBitrate: 1000 };

/** Opus for a voice over a microphone: mono, in-band FEC against loss, no DTX (a seller rarely pauses long). */
const AUDIO_CODEC_OPTIONS: msc.ProducerCodecOptions = { opusStereo: false, opusFec: true, opusDtx: false };

export type PublisherState =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  /** Media is flowing into the sfu: one producer per track. */
  | { kind: 'live'; producers: Partial<Record<MediaKind, string>> }
  | { kind: 'reconnecting'; attempt: number; retryAt: number; cause: string }
  | { kind: 'ended' }
  | { kind: 'refused'; reason: string; message: string }
  | { kind: 'stopped' };

export type PublisherOptions = {
  sfuUrl: string;
  showId: string;
  /** A publisher token for the show: `POST /v1/shows/{id}/sfu-token` as the show's seller. */
  getGrant: GrantProvider;
  onState?: (state: PublisherState) => void;
  /** Simulcast layers for the video track; `undefined` entries are not allowed. Defaults to SIMULCAST_ENCODINGS. */
  videoEncodings?: msc.RtpEncodingParameters[];
};

export type PublishedTracks = Partial<Record<MediaKind, MediaStreamTrack>>;

/**
 * A seller's camera and microphone into the sfu: a mediasoup-client Device, one send transport,
 * video with three simulcast layers and Opus audio. The tracks are the caller's: the Publisher never
 * stops them, so after a reconnection it produces the same tracks again, and the preview keeps running.
 */
export class Publisher implements SessionMedia {
  readonly #session: SfuSession;
  readonly #options: PublisherOptions;
  #tracks: PublishedTracks = {};
  #connection: SignalingConnection | undefined;
  #transport: msc.Transport | undefined;
  #unwatch: (() => void) | undefined;
  readonly #producers = new Map<MediaKind, msc.Producer>();
  #state: PublisherState = { kind: 'idle' };

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#session = new SfuSession({
      sfuUrl: options.sfuUrl,
      showId: options.showId,
      getGrant: options.getGrant,
      requiredRole: 'publisher',
      media: this,
      onState: (state) => this.#onSessionState(state),
    });
  }

  get state(): PublisherState {
    return this.#state;
  }

  /** Starts publishing `tracks` and keeps publishing them, reconnecting as needed, until stop(). */
  start(tracks: PublishedTracks): void {
    this.#tracks = { ...tracks };
    void this.#session.start();
  }

  /** Switches a camera or microphone while live (or removes it, with null); before start() it just records it. */
  async setTrack(kind: MediaKind, track: MediaStreamTrack | null): Promise<void> {
    if (track) this.#tracks[kind] = track;
    else delete this.#tracks[kind];
    const producer = this.#producers.get(kind);
    if (producer && !producer.closed) {
      if (track) {
        await producer.replaceTrack({ track });
        return;
      }
      this.#producers.delete(kind);
      producer.close();
      await this.#connection?.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
      this.#emitLive();
      return;
    }
    if (track && this.#transport && this.#connection?.isOpen) {
      await this.#produce(this.#transport, kind, track);
      this.#emitLive();
    }
  }

  /** Stops publishing: closes the producers (viewers see them go at once) and the session. Tracks are left running. */
  async stop(): Promise<void> {
    const connection = this.#session.connection;
    if (connection) {
      await Promise.allSettled([...this.#producers.values()].map((producer) => connection.request('closeProducer', { producerId: producer.id }, { timeoutMs: 3_000 })));
    }
    await this.#session.stop();
  }

  /** The sender's statistics (one `outbound-rtp` entry per simulcast layer), for a status display. */
  async videoStats(): Promise<RTCStatsReport | undefined> {
    const producer = this.#producers.get('video');
    return producer && !producer.closed ? producer.getStats() : undefined;
  }

  // SessionMedia ---------------------------------------------------------------------------------

  async setup(connection: SignalingConnection, _admission: Admission): Promise<void> {
    this.#connection = connection;
    const { rtpCapabilities } = await connection.request('getRouterRtpCapabilities', {});
    const device = await Device.factory();
    await device.load({ routerRtpCapabilities: clientRtpCapabilities(rtpCapabilities) });
    const created = await connection.request('createWebRtcTransport', { direction: 'send' });
    const transport = device.createSendTransport({
      id: created.transportId,
      iceParameters: created.iceParameters,
      iceCandidates: created.iceCandidates,
      dtlsParameters: created.dtlsParameters,
    });
    this.#transport = transport;
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      connection.request('connectTransport', { transportId: transport.id, dtlsParameters: DtlsParameters.parse(dtlsParameters) }).then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      // Parsed into the contract's shape (mediasoup-client adds fields the sfu does not take).
      connection
        .request('produce', { transportId: transport.id, kind, rtpParameters: RtpParameters.parse(rtpParameters) })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    this.#unwatch = watchTransport(transport, (cause) => this.#session.restart(cause));
    for (const kind of ['video', 'audio'] as const) {
      const track = this.#tracks[kind];
      if (track && track.readyState === 'live') await this.#produce(transport, kind, track);
    }
    this.#emitLive();
  }

  teardown(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    // Closing the transport closes its producers, locally; the sfu closes its side with the socket or the worker.
    this.#transport?.close();
    this.#transport = undefined;
    this.#producers.clear();
  }

  onNotification(notification: SignalingNotification): void {
    if (notification.method !== 'producerClosed') return;
    // The sfu closed one of ours (it does when the producer's stream broke): produce that track again.
    for (const [kind, producer] of this.#producers) {
      if (producer.id !== notification.data.producerId) continue;
      this.#producers.delete(kind);
      producer.close();
      const track = this.#tracks[kind];
      if (track && this.#transport) void this.#produce(this.#transport, kind, track).then(() => this.#emitLive(), () => this.#session.restart('could not publish again'));
    }
  }

  // ----------------------------------------------------------------------------------------------

  async #produce(transport: msc.Transport, kind: MediaKind, track: MediaStreamTrack): Promise<void> {
    const producer =
      kind === 'video'
        ? await transport.produce({
            track,
            encodings: this.#options.videoEncodings ?? SIMULCAST_ENCODINGS,
            codecOptions: VIDEO_CODEC_OPTIONS,
            stopTracks: false,
          })
        : await transport.produce({ track, codecOptions: AUDIO_CODEC_OPTIONS, stopTracks: false });
    if (transport !== this.#transport) {
      producer.close();
      return;
    }
    this.#producers.set(kind, producer);
  }

  #emitLive(): void {
    // Live once the session says so (after setup); later calls report a changed set of producers.
    if (this.#session.state.kind !== 'connected') return;
    const producers: Partial<Record<MediaKind, string>> = {};
    for (const [kind, producer] of this.#producers) producers[kind] = producer.id;
    this.#setState({ kind: 'live', producers });
  }

  #onSessionState(state: SessionState): void {
    switch (state.kind) {
      case 'connected':
        this.#emitLive();
        return;
      case 'connecting':
      case 'reconnecting':
      case 'ended':
      case 'refused':
      case 'stopped':
        this.#setState(state);
        return;
    }
  }

  #setState(state: PublisherState): void {
    this.#state = state;
    this.#options.onState?.(state);
  }
}
