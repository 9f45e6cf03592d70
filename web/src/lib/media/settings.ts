import type { types as msc } from 'mediasoup-client';

/** What the Publisher asks the camera for: the top simulcast layer is this size. */
export const PUBLISH_VIDEO_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
} as const satisfies MediaTrackConstraints;

export const PUBLISH_AUDIO_CONSTRAINTS = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
} as const satisfies MediaTrackConstraints;

/**
 * Three simulcast layers, a quarter, half and full size (320x180, 640x360, 1280x720 from a 720p
 * camera), each with three temporal layers so the sfu can also thin the frame rate. The bitrates are
 * the usual ones for VP8 at those sizes; the sum stays under 2.2 Mbps, which any uplink that can
 * stream at all carries.
 */
export const SIMULCAST_ENCODINGS: msc.RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];
