import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PlainIngestResponse, PlainIngestSource } from '@mytaek1/contracts';
import { FfmpegProcess, type FfmpegExit } from '../hls/FfmpegProcess.ts';
import type { Logger } from '../logger.ts';
import { rtpForwardJob, type RtpStreamIds } from './rtpForwardArguments.ts';
import type { SfuIngestClient } from './SfuIngestClient.ts';
import { planVideo, probeSource, type VideoPlan } from './sourceProbe.ts';

export interface SfuForwarderOptions {
  showId: string;
  /** The ingest's loopback RTMP pull URL (it carries a stream key: never logged). */
  sourceUrl: string;
  ffmpegPath: string;
  sfu: SfuIngestClient;
  logger: Logger;
  /** First restart delay; it doubles on each failure in a row, up to restartMaxDelayMs. */
  restartInitialDelayMs?: number;
  restartMaxDelayMs?: number;
  /** A run that lasted this long was healthy: the next failure starts the backoff again. */
  stableRunMs?: number;
  /** How long ffprobe waits for the stream's codec headers. */
  probeTimeoutMs?: number;
  /** FFmpeg writes no files here: a short wait after `q`, then SIGKILL. */
  stopTimeoutMs?: number;
}

export type SfuForwarderEvents = {
  /** A run has its ingest at the sfu and its FFmpeg sending to it. */
  forwarding: [{ run: number; pid: number; ingestId: string; video: VideoPlan }];
  ffmpegExited: [{ run: number; exit: FfmpegExit; expected: boolean }];
  restartScheduled: [{ run: number; delayMs: number; error?: string }];
};

interface Run {
  readonly index: number;
  readonly startedAt: number;
  ffmpeg?: FfmpegProcess;
}

/** Payload types in the dynamic range, as browsers number these codecs. */
const VIDEO_PAYLOAD_TYPE = 102;
const AUDIO_PAYLOAD_TYPE = 111;

/**
 * One live show's RTMP publish, forwarded into the sfu without re-encoding the video (unless
 * browsers could not decode it): each run probes the source, opens the show's plain ingest at the
 * sfu (which replaces the previous run's: a new FFmpeg sends from new ports) and starts FFmpeg
 * sending RTP to it. An FFmpeg that dies, or a run that cannot start, is retried with backoff;
 * `close()` stops FFmpeg and closes the ingest.
 */
export class SfuForwarder extends EventEmitter<SfuForwarderEvents> {
  readonly showId: string;
  readonly #options: Required<Omit<SfuForwarderOptions, 'showId' | 'logger' | 'sfu'>>;
  readonly #sfu: SfuIngestClient;
  readonly #logger: Logger;
  /**
   * Fixed for the publish: the sfu's stats and logs follow one stream. Below 2^31: FFmpeg's `-ssrc`
   * is a signed int option and refuses larger values.
   */
  readonly #ids: RtpStreamIds = {
    video: { payloadType: VIDEO_PAYLOAD_TYPE, ssrc: randomInt(1, 2 ** 31 - 1) },
    audio: { payloadType: AUDIO_PAYLOAD_TYPE, ssrc: randomInt(1, 2 ** 31 - 1) },
  };
  #runCount = 0;
  #failuresInARow = 0;
  #run: Run | undefined;
  #ingest: PlainIngestResponse | undefined;
  #video: VideoPlan | undefined;
  #starting: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: SfuForwarderOptions) {
    super();
    this.showId = options.showId;
    this.#sfu = options.sfu;
    this.#logger = options.logger;
    this.#options = {
      sourceUrl: options.sourceUrl,
      ffmpegPath: options.ffmpegPath,
      restartInitialDelayMs: options.restartInitialDelayMs ?? 500,
      restartMaxDelayMs: options.restartMaxDelayMs ?? 10_000,
      stableRunMs: options.stableRunMs ?? 30_000,
      probeTimeoutMs: options.probeTimeoutMs ?? 5_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 2_000,
    };
  }

  static create(options: SfuForwarderOptions): SfuForwarder {
    return new SfuForwarder(options);
  }

  /** Starts the first run; resolves once it forwards or has failed (and a retry is scheduled). Listen for events first. */
  async start(): Promise<void> {
    if (this.#runCount > 0 || this.#closing) throw new Error('an SfuForwarder starts once');
    this.#startRun();
    await this.#starting;
  }

  /** The running FFmpeg's pid, if one is running. */
  get ffmpegPid(): number | undefined {
    return this.#run?.ffmpeg?.pid;
  }

  /** The current run's ingest at the sfu. */
  get ingestId(): string | undefined {
    return this.#ingest?.ingestId;
  }

  /** How the current run treats the video. */
  get video(): VideoPlan | undefined {
    return this.#video;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Idempotent: stops FFmpeg (no restart after this) and closes the ingest at the sfu. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#restartTimer);
    await this.#starting;
    await this.#run?.ffmpeg?.stop(this.#options.stopTimeoutMs);
    const ingest = this.#ingest;
    this.#ingest = undefined;
    if (!ingest) return;
    try {
      await this.#sfu.close(this.showId, ingest.ingestId);
    } catch (error) {
      // The sfu closes an ingest with its room anyway; nothing is left sending to it.
      this.#logger.warn(`show ${this.showId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  #startRun(): void {
    const run: Run = { index: this.#runCount++, startedAt: Date.now() };
    this.#run = run;
    this.#starting = this.#prepareAndSpawn(run).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      this.#logger.error(`show ${this.showId}: forwarding run ${run.index} could not start: ${message}`);
      this.#scheduleRestart(run, message);
    });
  }

  async #prepareAndSpawn(run: Run): Promise<void> {
    const streams = await probeSource(this.#options.sourceUrl, { ffmpegPath: this.#options.ffmpegPath, timeoutMs: this.#options.probeTimeoutMs });
    if (this.#closing) return;
    if (!streams.video) throw new Error('the publish has no video stream');
    const video = planVideo(streams.video);
    const source: PlainIngestSource = {
      protocol: 'rtmp',
      videoReencoded: video.reencode,
      ...(video.sourceProfileLevelId ? { sourceProfileLevelId: video.sourceProfileLevelId } : {}),
      ...(video.reencode ? { reason: video.reason } : {}),
    };
    const ingest = await this.#sfu.open(this.showId, { video: { ...this.#ids.video, profileLevelId: video.profileLevelId }, audio: this.#ids.audio, source });
    this.#ingest = ingest;
    this.#video = video;
    if (this.#closing) return;
    if (video.reencode) this.#logger.warn(`show ${this.showId}: re-encoding the video for WebRTC (${video.reason})`);
    const ffmpeg = FfmpegProcess.start(
      rtpForwardJob({
        ffmpegPath: this.#options.ffmpegPath,
        sourceUrl: this.#options.sourceUrl,
        video,
        hasAudio: streams.audio !== undefined,
        ids: this.#ids,
        endpoints: { video: ingest.video, audio: ingest.audio },
      }),
      this.#logger,
    );
    run.ffmpeg = ffmpeg;
    void ffmpeg.exited.then((exit) => this.#onExit(run, exit));
    const pid = await ffmpeg.spawned;
    if (pid === undefined) return;
    this.#logger.info(`show ${this.showId}: forwarding run ${run.index} to the sfu (pid ${pid}, ingest ${ingest.ingestId}, video ${video.reencode ? 're-encoded' : 'copied'})`);
    this.emit('forwarding', { run: run.index, pid, ingestId: ingest.ingestId, video });
  }

  #onExit(run: Run, exit: FfmpegExit): void {
    const expected = this.#closing !== undefined;
    if (!expected) {
      const how = exit.spawnError ?? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`);
      this.#logger.warn(`show ${this.showId}: forwarding FFmpeg run ${run.index} exited unexpectedly (${how}); last output: ${exit.stderrTail.slice(-3).join(' | ') || '(none)'}`);
    }
    this.emit('ffmpegExited', { run: run.index, exit, expected });
    if (!expected) this.#scheduleRestart(run);
  }

  #scheduleRestart(run: Run, error?: string): void {
    if (this.#closing) return;
    if (Date.now() - run.startedAt >= this.#options.stableRunMs) this.#failuresInARow = 0;
    const delayMs = Math.min(this.#options.restartMaxDelayMs, this.#options.restartInitialDelayMs * 2 ** this.#failuresInARow);
    this.#failuresInARow += 1;
    this.emit('restartScheduled', { run: run.index, delayMs, ...(error ? { error } : {}) });
    this.#restartTimer = setTimeout(() => {
      if (!this.#closing) this.#startRun();
    }, delayMs);
  }
}
