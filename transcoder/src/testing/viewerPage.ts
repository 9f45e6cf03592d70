import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { servePage } from '@mytaek1/test-support';

/** What the page reports of its player. */
export interface PlayerStats {
  /** The Viewer's state: connecting, waiting, live, reconnecting... */
  state: string;
  /** Frames the <video> presented (requestVideoFrameCallback), since the page opened. */
  presented: number;
  /** Frames decoded (getVideoPlaybackQuality), since the page opened. */
  decoded: number;
  width: number;
  height: number;
  /** The received video codec, from the receiver's getStats. */
  videoCodec: string | undefined;
}

const MEDIA_DIR = fileURLToPath(new URL('../../../web/src/lib/media/', import.meta.url));

/**
 * The shopper's player as the web app has it (web/src/lib/media/Viewer.ts, mediasoup-client over
 * the sfu's signaling), bundled for a page that Chromium opens: `window.player.watch(sfuUrl,
 * showId)` starts it with tokens from `window.mintGrant()` (exposed by the test), and
 * `window.player.stats()` returns PlayerStats.
 */
const ENTRY = `
import { Viewer } from './Viewer.ts';
const video = document.createElement('video');
video.muted = true; video.autoplay = true; video.playsInline = true;
document.body.append(video);
let viewer; let state = 'none'; let presented = 0;
const onFrame = () => { presented++; video.requestVideoFrameCallback(onFrame); };
video.requestVideoFrameCallback(onFrame);
window.player = {
  watch(sfuUrl, showId) {
    viewer = new Viewer({
      sfuUrl, showId,
      getGrant: () => window.mintGrant(),
      onStream: (stream) => { video.srcObject = stream; if (stream) video.play().catch(() => {}); },
      onState: (next) => { state = next.kind; },
    });
    viewer.setDisplaySize(1280, 720);
    viewer.start();
  },
  async stats() {
    let videoCodec;
    const pcs = window.__peerConnections ?? [];
    for (const pc of pcs) {
      const report = await pc.getStats();
      report.forEach((entry) => {
        if (entry.type === 'inbound-rtp' && entry.kind === 'video' && entry.codecId) videoCodec = report.get(entry.codecId)?.mimeType;
      });
    }
    return { state, presented, decoded: video.getVideoPlaybackQuality().totalVideoFrames, width: video.videoWidth, height: video.videoHeight, videoCodec };
  },
  stop: () => viewer?.stop(),
};
`;

/** Records every RTCPeerConnection the page makes, so that stats() can read the receiver's codec. */
const PEER_CONNECTION_SPY = `
const Native = window.RTCPeerConnection;
window.__peerConnections = [];
window.RTCPeerConnection = class extends Native { constructor(...args) { super(...args); window.__peerConnections.push(this); } };
`;

/** Serves the page on loopback; `close()` stops the server. */
export async function startViewerPage(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: MEDIA_DIR, loader: 'ts', sourcefile: 'viewer-page.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  const html = `<!doctype html><meta charset="utf-8"><title>player</title><script>${PEER_CONNECTION_SPY}</script><script type="module" src="/player.js"></script>`;
  return servePage(html, { '/player.js': script });
}
