import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import { ShowQueues } from '../ShowQueues.ts';
import type { FfmpegExit } from './FfmpegProcess.ts';
import { HlsPipeline, type HlsPipelineOptions, type ReplaySummary } from './HlsPipeline.ts';
import type { HlsSource } from './HlsSource.ts';

/** A live source to turn into HLS: which show, and where to take it from. */
export interface LiveSource {
  showId: string;
  source: HlsSource;
}

export type HlsPipelineSupervisorEvents = {
  /** The show's live HLS is being written (the first segment follows within a couple of seconds). */
  liveStarted: [{ showId: string }];
  /** The show's live HLS ended; `replay` is null when nothing was recorded. */
  liveEnded: [{ showId: string; replay: ReplaySummary | null; source: HlsSource['kind'] }];
  ffmpegStarted: [{ showId: string; run: number; pid: number }];
  ffmpegExited: [{ showId: string; run: number; exit: FfmpegExit; expected: boolean }];
};

export type PipelineSettings = Omit<HlsPipelineOptions, 'showId' | 'source' | 'logger'>;

/**
 * One HlsPipeline per live show. Starts and ends for the same show run one after the other, so a
 * show that ends and goes live again never has two FFmpeg writing its directories at once.
 */
export class HlsPipelineSupervisor extends EventEmitter<HlsPipelineSupervisorEvents> {
  readonly #settings: PipelineSettings;
  readonly #logger: Logger;
  readonly #pipelines = new Map<string, HlsPipeline>();
  /** The last queued operation per show. */
  readonly #queues: ShowQueues;
  #closing: Promise<void> | undefined;

  private constructor(settings: PipelineSettings, logger: Logger) {
    super();
    this.#settings = settings;
    this.#logger = logger;
    this.#queues = new ShowQueues(logger);
  }

  static create(settings: PipelineSettings, logger: Logger): HlsPipelineSupervisor {
    return new HlsPipelineSupervisor(settings, logger);
  }

  /** Shows with a pipeline, in start order. */
  get liveShowIds(): string[] {
    return [...this.#pipelines.keys()];
  }

  pipelineFor(showId: string): HlsPipeline | undefined {
    return this.#pipelines.get(showId);
  }

  startLive(source: LiveSource): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return this.#queues.enqueue(source.showId, async () => {
      // A start without an end in between means the end was missed: finish the old one first.
      await this.#end(source.showId);
      if (this.#closing) return;
      const pipeline = HlsPipeline.create({ ...this.#settings, ...source, logger: this.#logger });
      pipeline.on('ffmpegStarted', (event) => this.emit('ffmpegStarted', { showId: source.showId, ...event }));
      pipeline.on('ffmpegExited', (event) => this.emit('ffmpegExited', { showId: source.showId, ...event }));
      this.#pipelines.set(source.showId, pipeline);
      try {
        await pipeline.start();
      } catch (error) {
        this.#pipelines.delete(source.showId);
        await pipeline.close().catch(() => null);
        throw error;
      }
      this.emit('liveStarted', { showId: source.showId });
    });
  }

  endLive(showId: string): Promise<void> {
    // Closing now, not when the queue gets there, marks the pipeline as stopping at once: its
    // FFmpeg is about to see its input end, and that exit must not be taken for a crash.
    void this.#pipelines.get(showId)?.close();
    return this.#queues.enqueue(showId, () => this.#end(showId));
  }

  /** Idempotent: ends every show's pipeline (finalising its replay) and accepts no new ones. */
  close(): Promise<void> {
    if (!this.#closing) {
      // Shows with a start still queued are included: that start sees #closing and does nothing.
      const showIds = new Set([...this.#pipelines.keys(), ...this.#queues.showIds]);
      this.#closing = Promise.all([...showIds].map((showId) => this.endLive(showId))).then(() => undefined);
    }
    return this.#closing;
  }

  async #end(showId: string): Promise<void> {
    const pipeline = this.#pipelines.get(showId);
    if (!pipeline) return;
    const replay = await pipeline.close();
    this.#pipelines.delete(showId);
    this.emit('liveEnded', { showId, replay, source: pipeline.source.kind });
  }
}
