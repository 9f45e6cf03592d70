import { EventEmitter } from 'node:events';
import { basename, dirname } from 'node:path';
import type { ShowMediaEvent } from '@mytaek1/contracts';
import type { ReplaySummary } from '../hls/HlsPipeline.ts';
import type { Logger } from '../logger.ts';
import type { ReplayStorage } from './ReplayStorage.ts';

/** The slice of ShowMediaEventsClient this needs. */
export interface ShowMediaEventReporter {
  report(showId: string, event: ShowMediaEvent): Promise<void>;
}

export interface ReplayPublisherOptions {
  storage: ReplayStorage;
  /** Undefined: the replay is stored, and nobody is told. */
  reporter: ShowMediaEventReporter | undefined;
  logger: Logger;
  /** Tries per step (storing, reporting); the wait doubles from `retryDelayMs` between them. */
  attempts?: number;
  retryDelayMs?: number;
}

export type ReplayPublisherEvents = {
  /** The replay is stored and the edge API was told (or there is no edge API to tell). */
  published: [{ showId: string; playlistUrl: string; durationSeconds: number }];
  failed: [{ showId: string; error: Error }];
};

/**
 * What happens to a finalised replay: it goes to the configured storage, and the edge API hears
 * `recording_ready` with its public URL, so the show lists it. Replays of one show go out in order.
 */
export class ReplayPublisher extends EventEmitter<ReplayPublisherEvents> {
  readonly #options: Required<Omit<ReplayPublisherOptions, 'reporter'>> & Pick<ReplayPublisherOptions, 'reporter'>;
  readonly #queues = new Map<string, Promise<void>>();

  private constructor(options: ReplayPublisherOptions) {
    super();
    this.#options = { attempts: 5, retryDelayMs: 1_000, ...options };
  }

  static create(options: ReplayPublisherOptions): ReplayPublisher {
    return new ReplayPublisher(options);
  }

  /** Queues the replay; never rejects (failures are logged and emitted). */
  publish(showId: string, replay: ReplaySummary): Promise<void> {
    const previous = this.#queues.get(showId) ?? Promise.resolve();
    const next = previous.then(() => this.#publish(showId, replay));
    this.#queues.set(showId, next);
    void next.then(() => {
      if (this.#queues.get(showId) === next) this.#queues.delete(showId);
    });
    return next;
  }

  /** Settles once every replay queued so far is published or given up on. */
  async idle(): Promise<void> {
    await Promise.all(this.#queues.values());
  }

  async #publish(showId: string, replay: ReplaySummary): Promise<void> {
    const { storage, reporter, logger } = this.#options;
    try {
      const playlistUrl = await this.#retrying(`storing the replay of show ${showId}`, () =>
        storage.put({ showId, dir: dirname(replay.playlistPath), playlistFile: basename(replay.playlistPath) }),
      );
      const durationSeconds = Math.round(replay.durationSeconds * 1000) / 1000;
      if (reporter) {
        await this.#retrying(`reporting the replay of show ${showId}`, () => reporter.report(showId, { type: 'recording_ready', playlistUrl, durationSeconds }));
      }
      logger.info(`show ${showId}: replay ready at ${playlistUrl} (${durationSeconds.toFixed(1)} s)`);
      this.emit('published', { showId, playlistUrl, durationSeconds });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      logger.error(`show ${showId}: the replay was not published: ${failure.message}`);
      this.emit('failed', { showId, error: failure });
    }
  }

  async #retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    const { attempts, retryDelayMs, logger } = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (error) {
        // A refusal that will not change (the edge API answered 4xx) is not worth another try.
        const retryable = (error as { retryable?: unknown }).retryable !== false;
        if (attempt >= attempts || !retryable) throw error;
        logger.warn(`${what} failed (try ${attempt} of ${attempts}): ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * 2 ** (attempt - 1)));
      }
    }
  }
}
