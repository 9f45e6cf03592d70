import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { servePage } from '@mytaek1/test-support';

/**
 * A page for Chromium that publishes and watches with medooze's `whip-whep` clients (WHIPClient,
 * WHEPClient: a WHIP/WHEP client we did not write), served from its own origin so that the sfu's
 * CORS answers are exercised as a third-party player would exercise them.
 *
 * The page exposes, on `window`:
 * - `publish(url, token, { codec, simulcast })`: fake camera and microphone, sendonly transceivers
 *   (the video codec preferred first when given: 'video/H264' or 'video/VP8'; three simulcast
 *   layers q, h, f when asked), WHIPClient.publish.
 * - `watch(url, token)`: recvonly audio and video transceivers, WHEPClient.view, the video in a
 *   <video> element whose presented frames are counted with requestVideoFrameCallback.
 * - `viewerStats(index)`: frames presented, and getStats' framesDecoded, decoded codec, audio packets.
 * - `stopAll()`: WHIPClient.stop / WHEPClient.stop (each sends its DELETE).
 */

const require = createRequire(import.meta.url);
const WHIP_JS = require.resolve('whip-whep/whip.js');
const WHEP_JS = require.resolve('whip-whep/whep.js');

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>WHIP/WHEP test page</title></head>
<body>
<script type="module">
import { WHIPClient } from './whip.js';
import { WHEPClient } from './whep.js';

const publishers = [];
const viewers = [];

window.publish = async (url, token, { codec, simulcast } = {}) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) {
    const sendEncodings = simulcast && track.kind === 'video'
      ? [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }]
      : undefined;
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly', ...(sendEncodings ? { sendEncodings } : {}) });
    if (codec && track.kind === 'video') {
      const codecs = RTCRtpSender.getCapabilities('video').codecs;
      const preferred = codecs.filter((c) => c.mimeType === codec && (codec !== 'video/H264' || /packetization-mode=1/.test(c.sdpFmtpLine ?? '') && /profile-level-id=42e01f/.test(c.sdpFmtpLine ?? '')));
      transceiver.setCodecPreferences([...preferred, ...codecs.filter((c) => !preferred.includes(c))]);
    }
  }
  const client = new WHIPClient();
  await client.publish(pc, url, token);
  publishers.push({ pc, client, stream });
  return publishers.length - 1;
};

window.watch = async (url, token) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  const stream = new MediaStream();
  pc.ontrack = (event) => {
    stream.addTrack(event.track);
    video.srcObject = stream;
    video.play().catch(() => {});
  };
  const viewer = { pc, video, frames: 0, client: new WHEPClient() };
  const onFrame = () => {
    viewer.frames++;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  await viewer.client.view(pc, url, token);
  viewers.push(viewer);
  return viewers.length - 1;
};

window.viewerStats = async (index) => {
  const { pc, video, frames } = viewers[index];
  const report = await pc.getStats();
  const stats = { frames, width: video.videoWidth, framesDecoded: 0, videoCodec: undefined, audioPackets: 0, audioCodec: undefined, connectionState: pc.connectionState };
  const codecs = new Map();
  report.forEach((entry) => { if (entry.type === 'codec') codecs.set(entry.id, entry.mimeType); });
  report.forEach((entry) => {
    if (entry.type !== 'inbound-rtp') return;
    if (entry.kind === 'video') {
      stats.framesDecoded += entry.framesDecoded ?? 0;
      stats.videoCodec = codecs.get(entry.codecId);
    } else if (entry.kind === 'audio') {
      stats.audioPackets += entry.packetsReceived ?? 0;
      stats.audioCodec = codecs.get(entry.codecId);
    }
  });
  return stats;
};

window.publisherState = (index) => publishers[index].pc.connectionState;

window.stopAll = async () => {
  for (const { client } of [...viewers, ...publishers]) await client.stop().catch(() => {});
  viewers.length = 0;
  publishers.length = 0;
};
window.ready = true;
</script>
</body></html>`;

export type ViewerStats = {
  frames: number;
  width: number;
  framesDecoded: number;
  videoCodec: string | undefined;
  audioPackets: number;
  audioCodec: string | undefined;
  connectionState: string;
};

export async function startWhipWhepPage(): Promise<{ url: string; close(): Promise<void> }> {
  const [whip, whep] = await Promise.all([readFile(WHIP_JS, 'utf8'), readFile(WHEP_JS, 'utf8')]);
  return servePage(PAGE, { '/whip.js': whip, '/whep.js': whep });
}
