import { execFile, type ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from '../logger.ts';

export interface FfmpegOutput {
  /** A file path (fluent-ffmpeg adds -y for file outputs). */
  target: string;
  options: readonly string[];
}

export interface FfmpegJob {
  ffmpegPath: string;
  input: string;
  /** Options placed before `-i`; global options may go here too (not -nostdin: stop() uses stdin). */
  inputOptions: readonly string[];
  /** More inputs after the first (FFmpeg numbers them 1, 2, …), each with its own options. */
  extraInputs?: readonly FfmpegInput[];
  outputs: readonly FfmpegOutput[];
}

export interface FfmpegInput {
  input: string;
  options: readonly string[];
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when FFmpeg could not be run at all (not found, not executable). */
  spawnError: string | undefined;
  /** FFmpeg's last lines on stderr, for the log of an unexpected exit. */
  stderrTail: readonly string[];
}

const STDERR_TAIL_LINES = 20;

/**
 * One FFmpeg process run through fluent-ffmpeg.
 *
 * `stop()` asks FFmpeg to finish by typing `q` on its stdin, then SIGKILLs it after a timeout.
 * Not SIGTERM: FFmpeg takes a second signal as "abort now" and interrupts its own trailer writes
 * (playlists were seen truncated to 0 bytes), and under systemd or a terminal's Ctrl-C FFmpeg
 * receives the first signal itself, so ours would be the second. A first signal does not help
 * either: it does not interrupt a read that waits for a silent publisher. `q` is not a signal, is
 * read between packets like one, and FFmpeg then writes its trailers (closing playlists with
 * EXT-X-ENDLIST). An FFmpeg blocked on its input finishes when the input ends (the ingest ends the
 * pull when the publish ends); SIGKILL is for an FFmpeg that does neither.
 */
export class FfmpegProcess {
  readonly #logger: Logger;
  #child: ChildProcess | undefined;
  #stopTimeoutMs: number | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #ended = false;
  readonly #stderrTail: string[] = [];
  /** Settles once FFmpeg has exited and its output pipes are closed. Never rejects. */
  readonly exited: Promise<FfmpegExit>;
  /** Settles with the pid once FFmpeg is spawned (undefined if it never was). Never rejects. */
  readonly spawned: Promise<number | undefined>;

  private constructor(job: FfmpegJob, logger: Logger) {
    this.#logger = logger;
    let settle: (exit: FfmpegExit) => void = () => {};
    let settleSpawn: (pid: number | undefined) => void = () => {};
    this.exited = new Promise((resolve) => (settle = resolve));
    this.spawned = new Promise((resolve) => (settleSpawn = resolve));
    const finish = (spawnError: string | undefined) => {
      this.#ended = true;
      clearTimeout(this.#killTimer);
      settleSpawn(undefined);
      // fluent-ffmpeg reports the end from its own 'exit' listener, which runs before any added
      // later; the child has recorded how it exited by then.
      const code = this.#child?.exitCode ?? null;
      const signal = this.#child?.signalCode ?? null;
      settle({ code, signal, spawnError, stderrTail: [...this.#stderrTail] });
    };

    // fluent-ffmpeg keeps the binary's path in a module-wide cache; one path per process is fine.
    const command = ffmpeg({ stdoutLines: STDERR_TAIL_LINES }).setFfmpegPath(job.ffmpegPath);
    // Options are passed one token per argument: given one string, fluent-ffmpeg splits at spaces.
    command.input(job.input).inputOptions(...job.inputOptions);
    for (const extra of job.extraInputs ?? []) command.input(extra.input).inputOptions(...extra.options);
    for (const output of job.outputs) command.output(output.target).outputOptions(...output.options);
    command.on('start', () => {
      // fluent-ffmpeg sets ffmpegProc just before 'start'; its typings omit the property.
      const child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      this.#child = child;
      // stop() may have been called while fluent-ffmpeg was still preparing (it first runs
      // `ffmpeg -encoders`): act on it now, or this process would outlive its pipeline.
      if (this.#stopTimeoutMs !== undefined) this.#terminate(this.#stopTimeoutMs);
      settleSpawn(child?.pid);
    });
    command.on('stderr', (line: string) => {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
      this.#logger.debug(`ffmpeg: ${line}`);
    });
    // fluent-ffmpeg reports a non-zero exit or a signal as 'error', and waits for the pipes to close.
    command.on('error', (error: Error) => finish(this.#child?.pid === undefined ? error.message : undefined));
    command.on('end', () => finish(undefined));
    command.run();
  }

  /**
   * Requires a runnable binary: check it once at start-up with `checkInstalled`. fluent-ffmpeg
   * 2.1.3 throws an uncaught TypeError from its own 'error' handler when the spawn itself fails.
   */
  static start(job: FfmpegJob, logger: Logger): FfmpegProcess {
    return new FfmpegProcess(job, logger);
  }

  /** Resolves with FFmpeg's version line; rejects with a readable error if it cannot be run. */
  static checkInstalled(ffmpegPath: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(ffmpegPath, ['-hide_banner', '-version'], { timeout: 10_000 }, (error, stdout) => {
        if (error) reject(new Error(`FFmpeg cannot be run from ${JSON.stringify(ffmpegPath)} (set FFMPEG_PATH): ${error.message}`));
        else resolve(stdout.split('\n', 1)[0] ?? '');
      });
    });
  }

  get pid(): number | undefined {
    return this.#ended ? undefined : this.#child?.pid;
  }

  /** Idempotent: asks FFmpeg to finish, SIGKILLs it after `timeoutMs`; resolves once it is gone. */
  stop(timeoutMs: number): Promise<FfmpegExit> {
    if (this.#stopTimeoutMs === undefined && !this.#ended) {
      this.#stopTimeoutMs = timeoutMs;
      if (this.#child) this.#terminate(timeoutMs);
    }
    return this.exited;
  }

  #terminate(timeoutMs: number): void {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    // An FFmpeg that is exiting anyway closes its stdin: the write then fails, harmlessly.
    child.stdin?.on('error', () => {});
    child.stdin?.end('q');
    this.#killTimer = setTimeout(() => {
      this.#logger.warn(`ffmpeg ${child.pid} did not stop within ${timeoutMs} ms: SIGKILL`);
      child.kill('SIGKILL');
    }, timeoutMs);
  }
}
