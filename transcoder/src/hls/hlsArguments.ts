import { join } from 'node:path';
import type { FfmpegOutput } from './FfmpegProcess.ts';
import { INIT_FILE, PLAYLIST_FILE } from './mediaLayout.ts';

export interface HlsRunPlan {
  liveDir: string;
  /** Unique per publish, so a segment name is never reused and can be cached as immutable. */
  liveSegmentPrefix: string;
  /** Continues the live media sequence across FFmpeg restarts within one publish. */
  liveStartNumber: number;
  /** Whole seconds: see hlsOutputs. */
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
  if (!Number.isInteger(plan.liveSegmentSeconds) || plan.liveSegmentSeconds < 1) throw new Error('liveSegmentSeconds must be a whole number ≥ 1');
  if (!Number.isInteger(plan.recordingSegmentSeconds) || plan.recordingSegmentSeconds < 1) throw new Error('recordingSegmentSeconds must be a whole number ≥ 1');
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
