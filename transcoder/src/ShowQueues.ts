import type { Logger } from './logger.ts';

/**
 * One queue of operations per show: a show's starts and ends run one after another, in the order
 * asked (an end that arrives while its start is still probing waits for it), while different shows
 * go on in parallel. A failed operation is logged and does not stop the ones after it.
 */
export class ShowQueues {
  readonly #queues = new Map<string, Promise<void>>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Shows with operations still queued or running. */
  get showIds(): IterableIterator<string> {
    return this.#queues.keys();
  }

  enqueue(showId: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.#queues.get(showId) ?? Promise.resolve();
    const next = previous.then(operation).catch((error: unknown) => {
      this.#logger.error(`show ${showId}: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.#queues.set(showId, next);
    void next.then(() => {
      if (this.#queues.get(showId) === next) this.#queues.delete(showId);
    });
    return next;
  }
}
