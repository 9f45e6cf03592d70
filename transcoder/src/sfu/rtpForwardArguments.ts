import type { PlainIngestEndpoint } from '@mytaek1/contracts';
import type { FfmpegJob, FfmpegOutput } from '../hls/FfmpegProcess.ts';
import type { VideoPlan } from './sourceProbe.ts';

/** The RTP streams FFmpeg sends: the SSRC and payload type the sfu's producers are declared with. */
export interface RtpStreamIds {
  video: { payloadType: number; ssrc: number };
  audio: { payloadType: number; ssrc: number };
}

export interface RtpForwardPlan {
  ffmpegPath: string;
  /** The ingest's loopback RTMP pull URL (it carries a stream key: never logged). */
  sourceUrl: string;
  video: VideoPlan;
  /** False when the source has no audio: only video is sent. */
  hasAudio: boolean;
  ids: RtpStreamIds;
  endpoints: { video: PlainIngestEndpoint; audio: PlainIngestEndpoint };
}

/**
 * Where FFmpeg's RTP muxer sends: RTP to the port, RTCP to the ingest's RTCP port; packets small
 * enough for any path MTU once the sfu adds its own headers.
 */
export function rtpUrl(endpoint: PlainIngestEndpoint): string {
  const host = endpoint.ip.includes(':') ? `[${endpoint.ip}]` : endpoint.ip;
  return `rtp://${host}:${endpoint.port}?rtcpport=${endpoint.rtcpPort}&pkt_size=1200`;
}

/**
 * One FFmpeg pulling the RTMP publish and sending one RTP stream per kind to the sfu:
 * - video copied (`h264_mp4toannexb`: RTMP carries length-prefixed NAL units, RTP wants start
 *   codes), or re-encoded with x264 (constrained baseline, zerolatency, a keyframe every second:
 *   FFmpeg cannot answer a viewer's keyframe request, so a new viewer waits for the next one);
 * - audio from AAC to Opus 48 kHz stereo, what WebRTC plays.
 * The small probe and `nobuffer` cut start-up; node-media-server sends the codec headers first.
 */
export function rtpForwardJob(plan: RtpForwardPlan): FfmpegJob {
  const video: FfmpegOutput = {
    target: rtpUrl(plan.endpoints.video),
    options: [
      '-map', '0:v:0',
      ...(plan.video.reencode
        ? [
            '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-level:v', '3.1', '-pix_fmt', 'yuv420p',
            '-force_key_frames', 'expr:gte(t,n_forced*1)', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '1250k',
          ]
        : ['-c:v', 'copy']),
      '-bsf:v', 'h264_mp4toannexb',
      '-f', 'rtp', '-ssrc', String(plan.ids.video.ssrc), '-payload_type', String(plan.ids.video.payloadType),
    ],
  };
  const audio: FfmpegOutput = {
    target: rtpUrl(plan.endpoints.audio),
    options: [
      '-map', '0:a:0',
      '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '96k', '-application', 'lowdelay',
      '-f', 'rtp', '-ssrc', String(plan.ids.audio.ssrc), '-payload_type', String(plan.ids.audio.payloadType),
    ],
  };
  return {
    ffmpegPath: plan.ffmpegPath,
    input: plan.sourceUrl,
    // No -nostdin: FfmpegProcess stops FFmpeg by typing `q` on its stdin.
    inputOptions: ['-hide_banner', '-loglevel', 'warning', '-probesize', '32768', '-analyzeduration', '0', '-fflags', 'nobuffer'],
    outputs: plan.hasAudio ? [video, audio] : [video],
  };
}
