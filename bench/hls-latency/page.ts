/// <reference lib="dom" />
/**
 * The hls-latency benchmark's browser side, bundled by bench/hls-latency.ts: the seller publishes the
 * canvas clock with the app's own Publisher (WebRTC into the sfu); the shopper plays the show's LL-HLS
 * with the app's own HlsPlayback (hls.js), as the live player does after falling back. Node drives it
 * through `window.bench`.
 */
import type { HlsConfig } from 'hls.js';
import type { PeerRole } from '@mytaek1/contracts';
import { HlsPlayback, type HlsPlaybackState } from '../../web/src/lib/media/HlsPlayback.ts';
import { Publisher } from '../../web/src/lib/media/Publisher.ts';
import { measure, startClock, type Measurement } from '../webrtc-latency/clock.ts';

declare global {
  interface Window {
    mintGrant(role: PeerRole): Promise<{ token: string; role: PeerRole }>;
    hlsBench: typeof bench;
  }
}

const WIDTH = 1280;
const HEIGHT = 720;
const FRAME_RATE = 30;

const video = document.querySelector<HTMLVideoElement>('#remote')!;
const canvas = document.querySelector<HTMLCanvasElement>('#clock')!;
canvas.width = WIDTH;
canvas.height = HEIGHT;

let publisher: Publisher | undefined;
let playback: HlsPlayback | undefined;
let playbackState: HlsPlaybackState['kind'] = 'loading';

const bench = {
  /**
   * The seller: the clock as the camera and Chromium's fake microphone (a show's HLS needs both
   * kinds; a capture device, as a seller's, rather than WebAudio, whose track runs late).
   */
  async publish(sfuUrl: string, showId: string): Promise<void> {
    const clock = startClock(canvas, FRAME_RATE);
    const [microphone] = (await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks();
    publisher = new Publisher({ sfuUrl, showId, getGrant: () => window.mintGrant('publisher') });
    publisher.start({ video: clock.track, ...(microphone ? { audio: microphone } : {}) });
  },

  publisherState(): string {
    return publisher?.state.kind ?? 'none';
  },

  watchHls(url: string, config: Partial<HlsConfig>): void {
    video.muted = true;
    playback = new HlsPlayback({ video, url, live: true, config, retryMs: 500, onState: (state) => (playbackState = state.kind) });
    playback.start();
    void video.play().catch(() => undefined);
  },

  /** `ahead`: seconds of video buffered past the playing position (how far behind its newest data the player sits). */
  playbackState(): { state: string; height: number; time: number; ahead: number } {
    const buffered = video.buffered;
    const ahead = buffered.length ? buffered.end(buffered.length - 1) - video.currentTime : 0;
    return { state: playbackState, height: video.videoHeight, time: video.currentTime, ahead };
  },

  measure(durationMs: number): Promise<Measurement> {
    return measure(video, durationMs);
  },

  async stop(): Promise<void> {
    playback?.stop();
    await publisher?.stop();
  },
};

window.hlsBench = bench;
