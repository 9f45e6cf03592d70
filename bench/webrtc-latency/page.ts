/// <reference lib="dom" />
/**
 * The benchmark's browser side, bundled for the page by webrtc-latency.ts: the app's own Publisher
 * and Viewer (web/src/lib/media) for the path through the sfu, a bare RTCPeerConnection for the
 * direct path, and the canvas clock on both. Node drives it through `window.bench`.
 */
import type { PeerRole } from '@mytaek1/contracts';
import { Publisher } from '../../web/src/lib/media/Publisher.ts';
import { Viewer, type ReceivedLayer, type ViewerState } from '../../web/src/lib/media/Viewer.ts';
import { measure, startClock, type Measurement } from './clock.ts';

/** Provided by Node (page.exposeFunction): a fresh admission token for this page's role. */
declare global {
  interface Window {
    mintGrant(role: PeerRole): Promise<{ token: string; role: PeerRole }>;
    bench: typeof bench;
  }
}

export const WIDTH = 1280;
export const HEIGHT = 720;
const FRAME_RATE = 30;
/** The direct path's one stream gets the bitrate of the sfu path's top layer. */
const P2P_MAX_BITRATE = 1_500_000;

const video = document.querySelector<HTMLVideoElement>('#remote')!;
const canvas = document.querySelector<HTMLCanvasElement>('#clock')!;
canvas.width = WIDTH;
canvas.height = HEIGHT;

let publisher: Publisher | undefined;
let viewer: Viewer | undefined;
let peer: RTCPeerConnection | undefined;
let viewerState: ViewerState['kind'] = 'connecting';
let layer: ReceivedLayer | undefined;

function show(stream: MediaStream | null): void {
  video.srcObject = stream;
  if (stream) void video.play().catch(() => undefined);
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
}

const bench = {
  /** The seller's side: the canvas clock as the camera, published with the app's Publisher (simulcast). */
  publish(sfuUrl: string, showId: string, simulcast: boolean): void {
    const clock = startClock(canvas, FRAME_RATE);
    publisher = new Publisher({
      sfuUrl,
      showId,
      getGrant: () => window.mintGrant('publisher'),
      // Without simulcast (a diagnostic): one stream like the direct path's, through the same sfu.
      ...(simulcast ? {} : { videoEncodings: [{ maxBitrate: P2P_MAX_BITRATE }] }),
    });
    publisher.start({ video: clock.track });
  },

  publisherState(): string {
    return publisher?.state.kind ?? 'none';
  },

  /** The shopper's side: the app's Viewer, asking for the layer a 1280x720 player wants (the top one). */
  watch(sfuUrl: string, showId: string): void {
    viewer = new Viewer({
      sfuUrl,
      showId,
      getGrant: () => window.mintGrant('viewer'),
      onStream: show,
      onState: (state) => (viewerState = state.kind),
      onLayer: (next) => (layer = next),
    });
    viewer.setDisplaySize(WIDTH, HEIGHT);
    viewer.start();
  },

  viewerState(): { state: string; layer: ReceivedLayer | undefined; height: number } {
    return { state: viewerState, layer, height: video.videoHeight };
  },

  /** The direct path, sender: one VP8 stream of the clock, non-trickle ICE. Returns the offer. */
  async p2pOffer(): Promise<string> {
    const clock = startClock(canvas, FRAME_RATE);
    peer = new RTCPeerConnection();
    const transceiver = peer.addTransceiver(clock.track, { direction: 'sendonly' });
    const vp8 = RTCRtpSender.getCapabilities('video')?.codecs.filter((codec) => codec.mimeType === 'video/VP8') ?? [];
    if (vp8.length) transceiver.setCodecPreferences(vp8);
    const parameters = transceiver.sender.getParameters();
    parameters.encodings = [{ ...(parameters.encodings[0] ?? {}), maxBitrate: P2P_MAX_BITRATE }];
    // Full size from the first frame, as the sfu path's top layer: no ramp up from a smaller size.
    parameters.degradationPreference = 'maintain-resolution';
    await transceiver.sender.setParameters(parameters);
    await peer.setLocalDescription(await peer.createOffer());
    await gathered(peer);
    return peer.localDescription!.sdp;
  },

  /** The direct path, receiver: answers the offer. */
  async p2pAnswer(offer: string): Promise<string> {
    peer = new RTCPeerConnection();
    peer.addEventListener('track', (event) => show(new MediaStream([event.track])));
    await peer.setRemoteDescription({ type: 'offer', sdp: offer });
    await peer.setLocalDescription(await peer.createAnswer());
    await gathered(peer);
    return peer.localDescription!.sdp;
  },

  async p2pAccept(answer: string): Promise<void> {
    await peer!.setRemoteDescription({ type: 'answer', sdp: answer });
  },

  /** The method's own cost: the clock's captured track into a <video> on the same page, no network. */
  local(): void {
    const clock = startClock(canvas, FRAME_RATE);
    show(new MediaStream([clock.track]));
  },

  /** Resolves once the received video is at least `minHeight` tall (the top layer), or after `timeoutMs`. */
  async waitForHeight(minHeight: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && video.videoHeight < minHeight) await new Promise((resolve) => setTimeout(resolve, 100));
    return video.videoHeight;
  },

  measure(durationMs: number): Promise<Measurement> {
    return measure(video, durationMs);
  },

  async stop(): Promise<void> {
    await Promise.all([publisher?.stop(), viewer?.stop()]);
    peer?.close();
  },
};

window.bench = bench;
