import type { HlsEncoding } from './hlsArguments.ts';

/** What one FFmpeg run of a pipeline reads, and how it becomes HLS. */
export interface HlsSourceRun {
  input: string;
  /** Options before `-i` (not -nostdin: FfmpegProcess stops FFmpeg through its stdin). */
  inputOptions: readonly string[];
  encoding: HlsEncoding;
  /** The input has no audio: the run adds silence (HlsRunPlan.silentAudio). */
  silentAudio?: boolean;
  /** Called with FFmpeg's pid once it is spawned; a rejection ends the run (it is then retried). */
  started?(pid: number): Promise<void>;
  /** Called once the run's FFmpeg has exited, however it ended. Never rejects. */
  release(): Promise<void>;
}

/**
 * Where a live show's pipeline takes its media from, prepared again for every FFmpeg run (a run
 * that died is retried with a fresh preparation: a new pull, a new egress from the sfu).
 */
export interface HlsSource {
  /** For logs and for deciding which notices may end the pipeline. */
  readonly kind: 'rtmp' | 'sfu';
  /** Rejects when the source is not ready (the pipeline retries with backoff). */
  prepare(run: number): Promise<HlsSourceRun>;
}
