import { REPLAYS_AREA } from '../hls/mediaLayout.ts';
import type { FinalisedReplay, ReplayStorage } from './ReplayStorage.ts';

/**
 * The default: replays stay where FFmpeg wrote them, and the transcoder's own HTTP server serves
 * them under `/replays/<showId>/`. Nothing to copy; the URL is the transcoder's public one.
 */
export class LocalReplayStorage implements ReplayStorage {
  readonly kind = 'local';
  readonly #publicUrl: () => string;

  private constructor(publicUrl: () => string) {
    this.#publicUrl = publicUrl;
  }

  /** `publicUrl` is read at each put: the HTTP server's port may be known only once it listens. */
  static create(publicUrl: () => string): LocalReplayStorage {
    return new LocalReplayStorage(publicUrl);
  }

  async put(replay: FinalisedReplay): Promise<string> {
    return `${this.#publicUrl().replace(/\/+$/, '')}/${REPLAYS_AREA}/${encodeURIComponent(replay.showId)}/${replay.playlistFile}`;
  }
}
