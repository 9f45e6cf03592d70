import { COPY, hlsInputOptions } from './hlsArguments.ts';
import type { HlsSource, HlsSourceRun } from './HlsSource.ts';

/**
 * An accepted RTMP publish, pulled from the ingest by FFmpeg and copied into HLS: the seller's
 * encoder already made H.264 + AAC, so copying costs no CPU and no latency.
 */
export class RtmpPullSource implements HlsSource {
  readonly kind = 'rtmp';
  /** Carries a stream key: never logged. */
  readonly #url: string;

  private constructor(url: string) {
    this.#url = url;
  }

  static create(url: string): RtmpPullSource {
    return new RtmpPullSource(url);
  }

  async prepare(): Promise<HlsSourceRun> {
    return { input: this.#url, inputOptions: hlsInputOptions(), encoding: COPY, release: async () => {} };
  }
}
