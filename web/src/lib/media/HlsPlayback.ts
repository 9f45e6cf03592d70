import Hls, { ErrorTypes, Events, type HlsConfig } from 'hls.js';

export type HlsPlaybackState =
  /** Loading the playlist and the first segments. */
  | { kind: 'loading' }
  /** The playlist is not there (yet): a live show whose HLS starts a moment after its WebRTC. Retrying. */
  | { kind: 'waiting'; retryAt: number }
  | { kind: 'playing' }
  /** A live playlist that ended (the show is over) or a replay played to its end. */
  | { kind: 'ended' }
  /** Neither MSE (hls.js) nor native HLS in this browser. */
  | { kind: 'unsupported' };

export type HlsPlaybackOptions = {
  video: HTMLVideoElement;
  /** The media playlist. */
  url: string;
  /** Live: stay close to the live edge and wait for a playlist that is not there yet. */
  live: boolean;
  onState?: (state: HlsPlaybackState) => void;
  /** How long to wait before loading a missing or broken playlist again. */
  retryMs?: number;
  /** hls.js settings over the defaults (the hls-latency benchmark compares some). */
  config?: Partial<HlsConfig>;
};

/**
 * Live latency settings for the transcoder's LL-HLS (fMP4 segments of one keyframe interval, about
 * 0.53 s, and blocking playlist reload): play about one and a half segments behind the newest, speed
 * up slightly to get back there after a stall, and jump ahead when more than four seconds behind.
 * Low-latency mode is what makes hls.js ask for the next segment's playlist (`_HLS_msn`) as soon as
 * it has one, instead of polling; no partial segments are published.
 */
export const LIVE_HLS_CONFIG: Partial<HlsConfig> = {
  lowLatencyMode: true,
  liveSyncDuration: 0.8,
  liveMaxLatencyDuration: 2,
  maxLiveSyncPlaybackRate: 1.5,
  backBufferLength: 10,
  // A player that fell behind must not fill a large buffer of stale video.
  maxBufferLength: 4,
};

/**
 * Plays an HLS playlist in a <video>: hls.js where the browser has MSE (Chromium, Firefox), the
 * browser's own HLS where it has no MSE but plays HLS natively (iOS Safari). Network failures (a
 * live playlist that does not exist yet, a transcoder restarting) are retried; media errors are
 * recovered in place.
 */
export class HlsPlayback {
  readonly #options: HlsPlaybackOptions;
  #hls: Hls | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #state: HlsPlaybackState = { kind: 'loading' };
  readonly #onEnded = () => this.#setState({ kind: 'ended' });
  readonly #onPlaying = () => this.#setState({ kind: 'playing' });

  constructor(options: HlsPlaybackOptions) {
    this.#options = options;
  }

  get state(): HlsPlaybackState {
    return this.#state;
  }

  start(): void {
    const { video } = this.#options;
    video.addEventListener('ended', this.#onEnded);
    video.addEventListener('playing', this.#onPlaying);
    if (Hls.isSupported()) this.#attach();
    else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = this.#options.url;
    } else this.#setState({ kind: 'unsupported' });
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const { video } = this.#options;
    video.removeEventListener('ended', this.#onEnded);
    video.removeEventListener('playing', this.#onPlaying);
    this.#hls?.destroy();
    this.#hls = undefined;
    if (video.src && !Hls.isSupported()) {
      video.removeAttribute('src');
      video.load();
    }
  }

  #attach(): void {
    if (this.#stopped) return;
    const { video, url, live } = this.#options;
    const hls = new Hls({ ...(live ? LIVE_HLS_CONFIG : { backBufferLength: 30 }), ...this.#options.config });
    this.#hls = hls;
    this.#setState({ kind: 'loading' });
    hls.on(Events.ERROR, (_event, data) => {
      if (!data.fatal || this.#hls !== hls) return;
      if (data.type === ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
        return;
      }
      // The playlist is missing or unreachable: start over in a moment.
      hls.destroy();
      this.#hls = undefined;
      const retryMs = this.#options.retryMs ?? 2_000;
      this.#setState({ kind: 'waiting', retryAt: Date.now() + retryMs });
      this.#retryTimer = setTimeout(() => this.#attach(), retryMs);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  }

  #setState(state: HlsPlaybackState): void {
    if (this.#stopped) return;
    this.#state = state;
    this.#options.onState?.(state);
  }
}
