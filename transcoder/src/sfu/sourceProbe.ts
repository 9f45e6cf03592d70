import { dirname, join } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';

/** What the seller's encoder sends, as ffprobe reads it from the RTMP stream's codec headers. */
export interface SourceStreams {
  video: SourceVideo | undefined;
  audio: { codec: string } | undefined;
}

export interface SourceVideo {
  codec: string;
  /** ffprobe's name: 'Constrained Baseline', 'Baseline', 'Main', 'High', 'High 10'... */
  profile: string | undefined;
  /** level_idc, e.g. 31 for 3.1. */
  level: number | undefined;
  /** Frames the decoder must hold back to reorder: more than 0 means B-frames. */
  reorderFrames: number;
}

/**
 * What reaches the sfu: the source's H.264 as it is, or re-encoded because browsers' WebRTC
 * decoders cannot be relied on with it. `reason` says why, in words a seller can act on.
 */
export type VideoPlan =
  | { reencode: false; sourceProfileLevelId: string; profileLevelId: string }
  | { reencode: true; sourceProfileLevelId: string | undefined; profileLevelId: string; reason: string };

/** What the transcoder's x264 makes when it re-encodes: constrained baseline, level 3.1. */
export const REENCODED_PROFILE_LEVEL_ID = '42e01f';

/**
 * The RFC 6184 profile-level-id of an H.264 stream from ffprobe's profile name and level. The
 * constraint flags are the ones x264 (OBS's encoder) writes for that profile.
 */
export function profileLevelIdOf(video: SourceVideo): string | undefined {
  const profileBytes: Record<string, string> = { 'Constrained Baseline': '42e0', Baseline: '4200', Main: '4d40', High: '6400', 'High 10': '6e00', 'High 4:2:2': '7a00', 'High 4:4:4 Predictive': 'f400' };
  const prefix = video.profile === undefined ? undefined : profileBytes[video.profile];
  if (prefix === undefined || video.level === undefined || video.level <= 0 || video.level > 255) return undefined;
  return `${prefix}${video.level.toString(16).padStart(2, '0')}`;
}

/** Copy when browsers decode the source over WebRTC (constrained baseline, baseline or main, no B-frames); else re-encode. */
export function planVideo(video: SourceVideo): VideoPlan {
  const sourceProfileLevelId = profileLevelIdOf(video);
  const reencode = (reason: string): VideoPlan => ({ reencode: true, sourceProfileLevelId, profileLevelId: REENCODED_PROFILE_LEVEL_ID, reason });
  if (video.codec !== 'h264') return reencode(`${video.codec} video: browsers receive H.264 from OBS; set the encoder to x264`);
  if (sourceProfileLevelId === undefined || !/^(42|4d)/.test(sourceProfileLevelId)) {
    return reencode(`${video.profile ?? 'unknown'} profile: browsers cannot decode it over WebRTC; set Profile to baseline or main`);
  }
  if (video.reorderFrames > 0) return reencode('B-frames: WebRTC players expect none; set Tune to zerolatency (or B-frames to 0)');
  return { reencode: false, sourceProfileLevelId, profileLevelId: sourceProfileLevelId };
}

export interface ProbeOptions {
  ffmpegPath: string;
  /** ffprobe gives up when the stream sends nothing for this long. */
  timeoutMs: number;
}

/**
 * Reads the stream's codecs with ffprobe (through fluent-ffmpeg). A small probe suffices:
 * node-media-server sends the codec headers first. ffprobe sits beside the configured FFmpeg.
 */
export function probeSource(url: string, { ffmpegPath, timeoutMs }: ProbeOptions): Promise<SourceStreams> {
  const command = ffmpeg(url).setFfprobePath(ffprobeBeside(ffmpegPath));
  // rw_timeout ends a read that waits on a silent stream; the ingest also ends pulls when the publish ends.
  const options = ['-v', 'error', '-probesize', '32768', '-analyzeduration', '0', '-rw_timeout', String(timeoutMs * 1000)];
  return new Promise((resolve, reject) => {
    command.ffprobe(options, (error: Error | null, data: ffmpeg.FfprobeData) => {
      if (error) {
        // Its message carries ffprobe's stderr, which names the URL, and the URL carries a stream key.
        reject(new Error(`ffprobe could not read the stream: ${error.message.split('\n')[0]}`));
        return;
      }
      const video = data.streams.find((stream) => stream.codec_type === 'video');
      const audio = data.streams.find((stream) => stream.codec_type === 'audio');
      resolve({
        video: video
          ? {
              codec: video.codec_name ?? 'unknown',
              profile: typeof video.profile === 'string' ? video.profile : undefined,
              level: typeof video.level === 'number' ? video.level : undefined,
              reorderFrames: typeof video.has_b_frames === 'number' ? video.has_b_frames : 0,
            }
          : undefined,
        audio: audio ? { codec: audio.codec_name ?? 'unknown' } : undefined,
      });
    });
  });
}

function ffprobeBeside(ffmpegPath: string): string {
  return ffmpegPath.includes('/') ? join(dirname(ffmpegPath), 'ffprobe') : 'ffprobe';
}
