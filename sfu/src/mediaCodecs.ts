import type { types as mediasoupTypes } from 'mediasoup';

/**
 * What every show's router routes. One list for all rooms, so that routers on different workers (and,
 * later, on other hosts) agree on payload types and `pipeToRouter` between them needs no translation.
 *
 * - Opus 48 kHz stereo: what browsers send, and what the transcoder produces from RTMP's AAC.
 * - VP8: every browser encodes it, and simulcast works with it everywhere.
 * - H.264 constrained baseline (42e01f), packetization-mode 1: what OBS over WHIP and the transcoder's
 *   copied RTMP video carry, and what every browser decodes. `level-asymmetry-allowed` lets a browser
 *   that decodes a higher level than it encodes still match.
 */
export const mediaCodecs: mediasoupTypes.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];
