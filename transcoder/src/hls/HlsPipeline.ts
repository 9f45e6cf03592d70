import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { FfmpegProcess, type FfmpegExit } from './FfmpegProcess.ts';
import { hlsOutputs, SILENT_AUDIO } from './hlsArguments.ts';
import type { HlsSource, HlsSourceRun } from './HlsSource.ts';
import { liveDirOf, PLAYLIST_FILE, recordingPartIndex, recordingPartName, replayDirOf } from './mediaLayout.ts';
import { nextMediaSequence, parseMediaPlaylist, stitchReplayPlaylist, type MediaPlaylist, type RecordingPart } from './MediaPlaylist.ts';

export interface HlsPipelineOptions {
  showId: string;
  /** Where each FFmpeg run reads the show from. */
  source: HlsSource;
  mediaDir: string;
  ffmpegPath: string;
  logger: Logger;
  /** Whole seconds; the actual length follows the seller's keyframe interval. */
  liveSegmentSeconds?: number;
  liveWindowSegments?: number;
  recordingSegmentSeconds?: number;
  /** First restart delay; it doubles on each failure in a row, up to restartMaxDelayMs. */
  restartInitialDelayMs?: number;
  restartMaxDelayMs?: number;
  /** A run that lasted this long was healthy: the next failure starts the backoff again. */
  stableRunMs?: number;
  /** How long FFmpeg gets to finish its files, once asked to stop, before SIGKILL. */
  stopTimeoutMs?: number;
}

export interface ReplaySummary {
  /** Absolute path of the finalised VOD playlist. */
  playlistPath: string;
  segmentCount: number;
  durationSeconds: number;
  partCount: number;
}

export type HlsPipelineEvents = {
  ffmpegStarted: [{ run: number; pid: number }];
  ffmpegExited: [{ run: number; exit: FfmpegExit; expected: boolean }];
  restartScheduled: [{ run: number; delayMs: number }];
};

interface Run {
  readonly index: number;
  readonly ffmpeg: FfmpegProcess;
  readonly startedAt: number;
  readonly source: HlsSourceRun;
}

/**
 * One live show's HLS: FFmpeg reads the show's source (an RTMP pull, or the sfu's egress) and writes
 * the live window and a recording part. An FFmpeg that dies is restarted with backoff, continuing the live media sequence
 * and starting a new recording part; `close()` stops FFmpeg and finalises the replay playlist from
 * every part the show has recorded so far.
 */
export class HlsPipeline extends EventEmitter<HlsPipelineEvents> {
  readonly showId: string;
  readonly liveDir: string;
  readonly replayDir: string;
  readonly source: HlsSource;
  readonly #options: Required<Omit<HlsPipelineOptions, 'showId' | 'mediaDir' | 'logger' | 'source'>>;
  readonly #logger: Logger;
  readonly #liveSegmentPrefix = `${Date.now().toString(36)}-`;
  #nextPartIndex = 0;
  #nextLiveSequence = 0;
  #runCount = 0;
  #failuresInARow = 0;
  #run: Run | undefined;
  #spawning: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing: Promise<ReplaySummary | null> | undefined;

  private constructor(options: HlsPipelineOptions) {
    super();
    this.showId = options.showId;
    this.liveDir = liveDirOf(options.mediaDir, options.showId);
    this.replayDir = replayDirOf(options.mediaDir, options.showId);
    this.#logger = options.logger;
    this.source = options.source;
    this.#options = {
      ffmpegPath: options.ffmpegPath,
      liveSegmentSeconds: options.liveSegmentSeconds ?? 1,
      liveWindowSegments: options.liveWindowSegments ?? 6,
      recordingSegmentSeconds: options.recordingSegmentSeconds ?? 4,
      restartInitialDelayMs: options.restartInitialDelayMs ?? 500,
      restartMaxDelayMs: options.restartMaxDelayMs ?? 10_000,
      stableRunMs: options.stableRunMs ?? 30_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 5_000,
    };
  }

  static create(options: HlsPipelineOptions): HlsPipeline {
    return new HlsPipeline(options);
  }

  /** Prepares the show's directories and starts the first FFmpeg run. Listen for events first. */
  async start(): Promise<void> {
    if (this.#runCount > 0 || this.#closing) throw new Error('an HlsPipeline starts once');
    await this.#prepareDirectories();
    this.#spawnRun();
    await this.#spawning;
  }

  /** The running FFmpeg's pid, if one is running. */
  get ffmpegPid(): number | undefined {
    return this.#run?.ffmpeg.pid;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Idempotent: stops FFmpeg (no restart after this) and finalises the replay playlist. */
  close(): Promise<ReplaySummary | null> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<ReplaySummary | null> {
    clearTimeout(this.#restartTimer);
    await this.#spawning;
    await this.#run?.ffmpeg.stop(this.#options.stopTimeoutMs);
    await this.#run?.source.release();
    await this.#endLivePlaylist();
    return this.#finaliseReplay();
  }

  async #prepareDirectories(): Promise<void> {
    // The live window starts empty for each publish; recordings accumulate over the show's publishes.
    await rm(this.liveDir, { recursive: true, force: true });
    await mkdir(this.liveDir, { recursive: true });
    await mkdir(this.replayDir, { recursive: true });
    const parts = (await readdir(this.replayDir)).map(recordingPartIndex).filter((index) => index !== undefined);
    this.#nextPartIndex = parts.length ? Math.max(...parts) + 1 : 0;
  }

  #spawnRun(): void {
    this.#spawning = this.#startRun().catch((error: unknown) => {
      this.#logger.error(`show ${this.showId}: could not start FFmpeg: ${error instanceof Error ? error.message : String(error)}`);
      this.#scheduleRestart(this.#runCount - 1, Date.now());
    });
  }

  async #startRun(): Promise<void> {
    const index = this.#runCount++;
    // First, so that a source that is not ready (no media in the sfu yet) leaves no empty part behind.
    const source = await this.source.prepare(index);
    let outputs: ReturnType<typeof hlsOutputs>;
    let recordingDir: string;
    try {
      recordingDir = join(this.replayDir, recordingPartName(this.#nextPartIndex++));
      await mkdir(recordingDir, { recursive: true });
      this.#nextLiveSequence = Math.max(this.#nextLiveSequence, await this.#liveSequenceAfterLastRun());
      await removeTemporaryFiles(this.liveDir);
      outputs = hlsOutputs({
        encoding: source.encoding,
        silentAudio: source.silentAudio,
        liveDir: this.liveDir,
        liveSegmentPrefix: this.#liveSegmentPrefix,
        liveStartNumber: this.#nextLiveSequence,
        liveSegmentSeconds: this.#options.liveSegmentSeconds,
        liveWindowSegments: this.#options.liveWindowSegments,
        recordingDir,
        recordingSegmentSeconds: this.#options.recordingSegmentSeconds,
      });
    } catch (error) {
      await source.release();
      throw error;
    }
    // close() may have begun while the directories were being prepared.
    if (this.#closing) {
      await source.release();
      return;
    }
    const ffmpeg = FfmpegProcess.start(
      { ffmpegPath: this.#options.ffmpegPath, input: source.input, inputOptions: source.inputOptions, extraInputs: source.silentAudio ? [SILENT_AUDIO] : [], outputs },
      this.#logger,
    );
    const run: Run = { index, ffmpeg, startedAt: Date.now(), source };
    this.#run = run;
    void ffmpeg.exited.then(async (exit) => {
      await source.release();
      this.#onExit(run, exit);
    });
    const pid = await ffmpeg.spawned;
    if (pid !== undefined) {
      this.#logger.info(`show ${this.showId}: FFmpeg run ${index} started (pid ${pid}, ${this.source.kind} source, live sequence from ${this.#nextLiveSequence})`);
      this.emit('ffmpegStarted', { run: index, pid });
      // E.g. the sfu's egress starts flowing once FFmpeg listens; if it cannot, this run is over.
      await source.started?.(pid).catch((error: unknown) => {
        this.#logger.warn(`show ${this.showId}: FFmpeg run ${index}: its source did not start (${error instanceof Error ? error.message : String(error)})`);
        void ffmpeg.stop(this.#options.stopTimeoutMs);
      });
    }
  }

  #onExit(run: Run, exit: FfmpegExit): void {
    const expected = this.#closing !== undefined;
    if (!expected) {
      const how = exit.spawnError ?? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`);
      this.#logger.warn(`show ${this.showId}: FFmpeg run ${run.index} exited unexpectedly (${how}); last output: ${exit.stderrTail.slice(-3).join(' | ') || '(none)'}`);
    }
    this.emit('ffmpegExited', { run: run.index, exit, expected });
    if (!expected) this.#scheduleRestart(run.index, run.startedAt);
  }

  #scheduleRestart(failedRun: number, startedAt: number): void {
    if (this.#closing) return;
    if (Date.now() - startedAt >= this.#options.stableRunMs) this.#failuresInARow = 0;
    const delayMs = Math.min(this.#options.restartMaxDelayMs, this.#options.restartInitialDelayMs * 2 ** this.#failuresInARow);
    this.#failuresInARow += 1;
    this.emit('restartScheduled', { run: failedRun, delayMs });
    this.#restartTimer = setTimeout(() => {
      if (!this.#closing) this.#spawnRun();
    }, delayMs);
  }

  /** The live playlist's next media sequence number; 0 before the first playlist exists. */
  async #liveSequenceAfterLastRun(): Promise<number> {
    const playlist = await readPlaylist(join(this.liveDir, PLAYLIST_FILE));
    return playlist ? nextMediaSequence(playlist) : 0;
  }

  /**
   * FFmpeg ends the live playlist itself when it stops cleanly; one that had to be killed leaves it
   * open, and players would keep polling a show that is over.
   */
  async #endLivePlaylist(): Promise<void> {
    const path = join(this.liveDir, PLAYLIST_FILE);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined || parseSafely(text)?.endList !== false) return;
    await writeAtomically(path, `${text.trimEnd()}\n#EXT-X-ENDLIST\n`);
  }

  async #finaliseReplay(): Promise<ReplaySummary | null> {
    const parts: RecordingPart[] = [];
    const partNames = (await readdir(this.replayDir))
      .filter((name) => recordingPartIndex(name) !== undefined)
      .sort((a, b) => (recordingPartIndex(a) ?? 0) - (recordingPartIndex(b) ?? 0));
    for (const dir of partNames) {
      const partDir = join(this.replayDir, dir);
      // A killed run leaves its unfinished segment under a temporary name; it was never listed.
      await removeTemporaryFiles(partDir);
      const playlist = await readPlaylist(join(partDir, PLAYLIST_FILE));
      if (!playlist || playlist.segments.length === 0) {
        await rm(partDir, { recursive: true, force: true });
        continue;
      }
      parts.push({ dir, playlist });
    }
    const replay = stitchReplayPlaylist(parts);
    if (!replay) {
      this.#logger.info(`show ${this.showId}: nothing recorded, no replay`);
      return null;
    }
    const playlistPath = join(this.replayDir, PLAYLIST_FILE);
    await writeAtomically(playlistPath, replay.text);
    this.#logger.info(`show ${this.showId}: replay finalised, ${replay.segmentCount} segments, ${replay.durationSeconds.toFixed(1)} s in ${parts.length} part(s)`);
    return { playlistPath, segmentCount: replay.segmentCount, durationSeconds: replay.durationSeconds, partCount: parts.length };
  }
}

async function readPlaylist(path: string): Promise<MediaPlaylist | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseSafely(text);
}

function parseSafely(text: string): MediaPlaylist | undefined {
  try {
    return parseMediaPlaylist(text);
  } catch {
    return undefined;
  }
}

/** Readers (the HTTP server, players) see the old file or the new one, never half of one. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

async function removeTemporaryFiles(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.filter((name) => name.endsWith('.tmp')).map((name) => rm(join(dir, name), { force: true })));
}
