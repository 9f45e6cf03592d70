import type * as mediasoupTypes from 'mediasoup/types';
import { sfuMediaNoticePath, type SfuMediaNotice } from '@mytaek1/contracts';
import { createLogger } from './logger.ts';
import type { Room } from './Room.ts';

const logger = createLogger('SfuMediaNotifier');

export type SfuMediaNotifierOptions = {
  /** The transcoder's HTTP base URL (TRANSCODER_URL). */
  transcoderUrl: string;
  /** The shared secret the transcoder checks (TOKEN_SECRET). */
  secret: string;
  /** This sfu's own base URL, where the transcoder asks for egress (read when a notice is sent). */
  sfuUrl: () => string;
  /**
   * How long a show stays `live` after its publisher's last producer closed: a publisher that
   * reconnects (a network blip, a worker move) within it does not end the show's HLS and replay.
   */
  endedGraceMs?: number;
  /**
   * How long a show's video must go without audio before it counts as `live` on its own (a seller on
   * camera without a microphone): a browser publisher's audio usually follows its video within
   * moments, and an egress opened before it came would record the show without sound.
   */
  videoOnlyAfterMs?: number;
  /** Attempts per notice (a transcoder restarting); each waits twice as long as the last. */
  attempts?: number;
  retryDelayMs?: number;
};

type ShowMedia = {
  /** The publishers' producers (WebRTC or WHIP) open in the show. */
  producers: Set<mediasoupTypes.Producer>;
  live: boolean;
  endTimer: NodeJS.Timeout | undefined;
  videoOnlyTimer: NodeJS.Timeout | undefined;
  /** Notices of one show go out one after the other, in order. */
  queue: Promise<void>;
};

/**
 * Tells the transcoder when a show starts and stops having media from a WebRTC or WHIP publisher
 * (`SfuMediaNotice`), so that every show gets LL-HLS and a replay from the sfu's egress. Only
 * producers a peer of the room owns count: the transcoder's own plain ingest (an OBS show, whose HLS
 * comes from RTMP directly) and media piped in from an origin sfu are not a publisher of this sfu.
 * `live` once the show has a publisher's audio and video, or video alone for `videoOnlyAfterMs`;
 * `ended` once it has none for `endedGraceMs`, or when the room closes.
 */
export class SfuMediaNotifier {
  readonly #options: Required<SfuMediaNotifierOptions>;
  readonly #shows = new Map<string, ShowMedia>();
  #closed = false;

  static create(options: SfuMediaNotifierOptions): SfuMediaNotifier {
    return new SfuMediaNotifier(options);
  }

  private constructor(options: SfuMediaNotifierOptions) {
    // Field by field: an option passed as undefined (SfuServer passes its own through) keeps its default.
    this.#options = {
      transcoderUrl: options.transcoderUrl.replace(/\/+$/, ''),
      secret: options.secret,
      sfuUrl: options.sfuUrl,
      endedGraceMs: options.endedGraceMs ?? 5_000,
      videoOnlyAfterMs: options.videoOnlyAfterMs ?? 3_000,
      attempts: options.attempts ?? 4,
      retryDelayMs: options.retryDelayMs ?? 500,
    };
  }

  /** Follows a room's producers from now on. An edge sfu's rooms are skipped: their origin reports. */
  watch(room: Room): void {
    if (this.#closed || room.isEdge) return;
    const show: ShowMedia = { producers: new Set(), live: false, endTimer: undefined, videoOnlyTimer: undefined, queue: Promise.resolve() };
    this.#shows.set(room.showId, show);
    const onProducer = (producer: mediasoupTypes.Producer) => {
      if (!isPublisherProducer(producer)) return;
      show.producers.add(producer);
      producer.observer.once('close', () => {
        show.producers.delete(producer);
        this.#update(room.showId, show);
      });
      this.#update(room.showId, show);
    };
    for (const producer of room.producers) onProducer(producer);
    room.on('newproducer', onProducer);
    room.once('closed', () => {
      room.off('newproducer', onProducer);
      clearTimeout(show.endTimer);
      clearTimeout(show.videoOnlyTimer);
      if (this.#shows.get(room.showId) === show) this.#shows.delete(room.showId);
      if (show.live) this.#send(room.showId, show, 'ended');
      show.live = false;
    });
  }

  /** Settles once every notice queued so far has been sent (or given up on). */
  async idle(): Promise<void> {
    await Promise.all([...this.#shows.values()].map((show) => show.queue));
  }

  /** Stops following rooms; notices already queued still go out. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const show of this.#shows.values()) {
      clearTimeout(show.endTimer);
      clearTimeout(show.videoOnlyTimer);
    }
  }

  #update(showId: string, show: ShowMedia, { videoAlone = false }: { videoAlone?: boolean } = {}): void {
    if (this.#closed) return;
    const kinds = new Set([...show.producers].map((producer) => producer.kind));
    if (kinds.size > 0) {
      clearTimeout(show.endTimer);
      show.endTimer = undefined;
    }
    if (!show.live && kinds.has('video') && !kinds.has('audio') && !videoAlone) {
      // Video without audio yet: wait a moment for the audio before going live without it.
      show.videoOnlyTimer ??= setTimeout(() => {
        show.videoOnlyTimer = undefined;
        this.#update(showId, show, { videoAlone: true });
      }, this.#options.videoOnlyAfterMs);
      show.videoOnlyTimer.unref();
      return;
    }
    clearTimeout(show.videoOnlyTimer);
    show.videoOnlyTimer = undefined;
    if (!show.live && kinds.has('video')) {
      show.live = true;
      this.#send(showId, show, 'live');
    } else if (show.live && kinds.size === 0 && !show.endTimer) {
      show.endTimer = setTimeout(() => {
        show.endTimer = undefined;
        if (!show.live || show.producers.size > 0) return;
        show.live = false;
        this.#send(showId, show, 'ended');
      }, this.#options.endedGraceMs);
      show.endTimer.unref();
    }
  }

  #send(showId: string, show: ShowMedia, state: SfuMediaNotice['state']): void {
    const notice: SfuMediaNotice = { state, sfuUrl: this.#options.sfuUrl() };
    show.queue = show.queue.then(() => this.#post(showId, notice));
  }

  async #post(showId: string, notice: SfuMediaNotice): Promise<void> {
    const { transcoderUrl, secret, attempts, retryDelayMs } = this.#options;
    let lastProblem = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(`${transcoderUrl}${sfuMediaNoticePath(showId)}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(notice),
          signal: AbortSignal.timeout(5_000),
        });
        await response.body?.cancel();
        if (response.ok) {
          logger.info('transcoder told', { showId, state: notice.state });
          return;
        }
        lastProblem = `HTTP ${response.status}`;
        // A refusal (bad secret, bad request) will not change by asking again.
        if (response.status < 500) break;
      } catch (error) {
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      // Unref'd: a notice the transcoder never takes is no reason to keep a stopping sfu alive.
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)).unref());
    }
    logger.warn('could not tell the transcoder about a show’s media', { showId, state: notice.state, problem: lastProblem });
  }
}

/** A producer a publisher peer of this sfu owns (Room.produce tags them with the peer's id). */
function isPublisherProducer(producer: mediasoupTypes.Producer): boolean {
  const appData = producer.appData as { peerId?: unknown };
  return typeof appData.peerId === 'string';
}
