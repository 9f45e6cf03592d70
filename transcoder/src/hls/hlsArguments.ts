import { join } from 'node:path';
import type { FfmpegInput, FfmpegOutput } from './FfmpegProcess.ts';
import { INIT_FILE, PLAYLIST_FILE } from './mediaLayout.ts';

/**
 * How a run's media becomes HLS:
 * - `copy`: the source is H.264 + AAC already (OBS over RTMP): copied, segments cut at the source's
 *   keyframes, so `liveSegmentSeconds` must be whole seconds (see hlsOutputs).
 * - `h264`: re-encoded (the sfu's VP8 or H.264 and Opus): x264 with a keyframe every
 *   `keyframeFrames` frames at a constant `fps`, so every live segment is exactly one keyframe
 *   interval long; AAC audio.
 */
export type HlsEncoding =
  | { mode: 'copy' }
  | { mode: 'h264'; width: number; height: number; fps: number; keyframeFrames: number; videoBitrateKbps: number; audioBitrateKbps: number };

export const COPY: HlsEncoding = { mode: 'copy' };

export interface HlsRunPlan {
  /** Copy when absent. */
  encoding?: HlsEncoding;
  /**
   * The source has video only (a seller on camera without a microphone): the run's second input is
   * SILENT_AUDIO, so that the live stream and the replay still have the audio track players expect.
   * Re-encoded runs only.
   */
  silentAudio?: boolean;
  liveDir: string;
  /** Unique per publish, so a segment name is never reused and can be cached as immutable. */
  liveSegmentPrefix: string;
  /** Continues the live media sequence across FFmpeg restarts within one publish. */
  liveStartNumber: number;
  /** Whole seconds when copying: see hlsOutputs. Re-encoded runs use one keyframe interval instead. */
  liveSegmentSeconds: number;
  liveWindowSegments: number;
  recordingDir: string;
  recordingSegmentSeconds: number;
}

/**
 * Input options for pulling the ingest's RTMP. The small probe cuts about a second off start-up;
 * node-media-server sends the codec headers first, so nothing is lost by probing little.
 * -copyts keeps the publisher's timeline: after a restart the new segments continue it instead
 * of starting again at zero, so players see a gap rather than a timestamp reset.
 */
export function hlsInputOptions(): string[] {
  // No -nostdin: FfmpegProcess stops FFmpeg by typing `q` on its stdin.
  return ['-hide_banner', '-loglevel', 'warning', '-probesize', '32768', '-analyzeduration', '0', '-fflags', 'nobuffer', '-copyts'];
}

/**
 * Two outputs from one pull, both fMP4 HLS with codecs copied (the seller's encoder already made
 * H.264 + AAC; copying costs no CPU and no latency):
 * - live: a sliding window of short segments, old ones deleted;
 * - recording: every segment kept in an EVENT playlist, longer segments for the replay.
 * Segments are cut only at keyframes, so their length is the seller's keyframe interval rounded up
 * to hls_time. hls_time must be whole seconds: FFmpeg 5.1 writes TARGETDURATION as the rounded
 * longest segment, and 0.5 s segments give TARGETDURATION:0, which breaks the specification.
 * temp_file writes playlists and segments under a temporary name and renames them when complete.
 */
export function hlsOutputs(plan: HlsRunPlan): FfmpegOutput[] {
  if (!Number.isInteger(plan.recordingSegmentSeconds) || plan.recordingSegmentSeconds < 1) throw new Error('recordingSegmentSeconds must be a whole number ≥ 1');
  if (plan.encoding?.mode === 'h264') return [encodedHlsOutput(plan, plan.encoding)];
  if (plan.silentAudio) throw new Error('silent audio is added to re-encoded runs only');
  if (!Number.isInteger(plan.liveSegmentSeconds) || plan.liveSegmentSeconds < 1) throw new Error('liveSegmentSeconds must be a whole number ≥ 1');
  const common = ['-map', '0:v?', '-map', '0:a?', '-c', 'copy', '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', INIT_FILE];
  return [
    {
      target: join(plan.liveDir, PLAYLIST_FILE),
      options: [
        ...common,
        '-hls_time', String(plan.liveSegmentSeconds),
        '-hls_list_size', String(plan.liveWindowSegments),
        '-hls_flags', 'independent_segments+delete_segments+temp_file+program_date_time',
        '-start_number', String(plan.liveStartNumber),
        '-hls_segment_filename', join(plan.liveDir, `${plan.liveSegmentPrefix}%05d.m4s`),
      ],
    },
    {
      target: join(plan.recordingDir, PLAYLIST_FILE),
      options: [
        ...common,
        '-hls_time', String(plan.recordingSegmentSeconds),
        '-hls_playlist_type', 'event',
        '-hls_flags', 'independent_segments+temp_file+program_date_time',
        '-hls_segment_filename', join(plan.recordingDir, 'seg-%05d.m4s'),
      ],
    },
  ];
}

/** Stereo silence at 48 kHz, endless: the audio of a run whose source has none (see HlsRunPlan.silentAudio). */
export const SILENT_AUDIO: FfmpegInput = { input: 'anullsrc=channel_layout=stereo:sample_rate=48000', options: ['-f', 'lavfi'] };

/**
 * Input options for the sfu's plain-RTP egress, described by an SDP file. FFmpeg listens on the
 * SDP's ports (RTCP on each port + 1). After `listen_timeout` seconds without a packet the read
 * fails and FFmpeg finishes its files as at the end of a stream: that is how a run ends once the
 * publisher is gone, and why a stop never needs SIGKILL here.
 */
export function sdpInputOptions(): string[] {
  return [
    '-hide_banner', '-loglevel', 'warning',
    '-protocol_whitelist', 'file,udp,rtp',
    '-probesize', '32768', '-analyzeduration', '0', '-fflags', 'nobuffer',
    '-listen_timeout', '3',
    // A keyframe of a 720p stream arrives as a burst of packets.
    '-buffer_size', String(4 * 1024 * 1024),
  ];
}

/**
 * One x264 encode written to both HLS outputs through the tee muxer (encoding twice would double
 * the CPU). Constant frame rate and a fixed keyframe interval make every live segment one keyframe
 * interval long: at 30 fps and 16 frames, 0.533 s, which FFmpeg rounds to TARGETDURATION:1 (an
 * interval of 15 frames, exactly 0.5 s, would round to 0 and break the specification). hls_time
 * just under the interval cuts at every keyframe. A fixed output size keeps the encoder valid when
 * a simulcast layer change resizes the source mid-stream.
 */
function encodedHlsOutput(plan: HlsRunPlan, encoding: Extract<HlsEncoding, { mode: 'h264' }>): FfmpegOutput {
  const { width, height, fps, keyframeFrames } = encoding;
  if (!(keyframeFrames / fps > 0.5)) throw new Error('a re-encoded keyframe interval must be longer than 0.5 s (TARGETDURATION would round to 0)');
  if (width % 2 || height % 2) throw new Error('the re-encoded size must be even');
  const liveHlsTime = ((keyframeFrames - 0.5) / fps).toFixed(4);
  const live = teeSlave(join(plan.liveDir, PLAYLIST_FILE), {
    f: 'hls',
    hls_time: liveHlsTime,
    hls_list_size: String(plan.liveWindowSegments),
    hls_segment_type: 'fmp4',
    hls_fmp4_init_filename: INIT_FILE,
    hls_flags: 'independent_segments+delete_segments+temp_file+program_date_time',
    start_number: String(plan.liveStartNumber),
    hls_segment_filename: join(plan.liveDir, `${plan.liveSegmentPrefix}%05d.m4s`),
  });
  const recording = teeSlave(join(plan.recordingDir, PLAYLIST_FILE), {
    f: 'hls',
    hls_time: String(plan.recordingSegmentSeconds),
    hls_playlist_type: 'event',
    hls_segment_type: 'fmp4',
    hls_fmp4_init_filename: INIT_FILE,
    hls_flags: 'independent_segments+temp_file+program_date_time',
    hls_segment_filename: join(plan.recordingDir, 'seg-%05d.m4s'),
  });
  return {
    target: `${live}|${recording}`,
    options: [
      // Silence is endless: -shortest ends the run with its video, as the source's own audio would.
      ...(plan.silentAudio ? ['-map', '0:v:0', '-map', '1:a:0', '-shortest'] : ['-map', '0:v:0', '-map', '0:a:0']),
      '-vf', `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:-1:-1,setsar=1,fps=${fps}`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
      '-g', String(keyframeFrames), '-keyint_min', String(keyframeFrames), '-sc_threshold', '0',
      '-b:v', `${encoding.videoBitrateKbps}k`, '-maxrate', `${encoding.videoBitrateKbps}k`, '-bufsize', `${encoding.videoBitrateKbps}k`,
      // The tee muxer's outputs need the codec headers up front (fMP4 init sections).
      '-flags:v', '+global_header',
      // RTP timestamps are re-based when the first RTCP sender report arrives: resampling with
      // async smooths that step instead of passing non-monotonic timestamps to the muxers. And the
      // audio starts at the timeline's origin, as the video does: without first_pts, each segment's
      // audio ran about 0.65 s behind its video, and a player cannot play video past its audio.
      '-af', 'aresample=async=1000:first_pts=0',
      '-c:a', 'aac', '-b:a', `${encoding.audioBitrateKbps}k`, '-ar', '48000', '-ac', '2', '-flags:a', '+global_header',
      '-f', 'tee',
    ],
  };
}

/**
 * `[key=value:...]target` for the tee muxer. Values go through two levels of FFmpeg's escaping;
 * rather than escape twice, refuse the characters that would need it (media paths never have them).
 */
function teeSlave(target: string, options: Record<string, string>): string {
  for (const value of [target, ...Object.values(options)]) {
    if (/[:|[\]\\'"]/.test(value)) throw new Error(`a media path or HLS option contains a character the tee muxer would need escaped (: | [ ] \\ ' "): ${JSON.stringify(value)}`);
  }
  return `[${Object.entries(options).map(([key, value]) => `${key}=${value}`).join(':')}]${target}`;
}
