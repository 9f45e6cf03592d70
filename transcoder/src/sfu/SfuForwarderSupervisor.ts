import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.ts';
import { ShowQueues } from '../ShowQueues.ts';
import { SfuForwarder, type SfuForwarderEvents, type SfuForwarderOptions } from './SfuForwarder.ts';
import type { SfuIngestClient } from './SfuIngestClient.ts';

/** Tuning shared by every show's forwarder (tests shorten the backoff). */
export type ForwarderSettings = Omit<SfuForwarderOptions, 'showId' | 'sourceUrl' | 'sfu' | 'logger'>;

type WithShow<T> = { [K in keyof T]: T[K] extends [infer E] ? [E & { showId: string }] : never };
export type SfuForwarderSupervisorEvents = WithShow<SfuForwarderEvents>;

/**
 * One SfuForwarder per live show. Starts and ends for the same show run one after the other, so a
 * show that ends and is published again never has two FFmpeg feeding its ingest at once.
 */
export class SfuForwarderSupervisor extends EventEmitter<SfuForwarderSupervisorEvents> {
  readonly #settings: ForwarderSettings;
  readonly #sfu: SfuIngestClient;
  readonly #logger: Logger;
  readonly #forwarders = new Map<string, SfuForwarder>();
  readonly #queues: ShowQueues;
  #closing: Promise<void> | undefined;

  private constructor(settings: ForwarderSettings, sfu: SfuIngestClient, logger: Logger) {
    super();
    this.#settings = settings;
    this.#sfu = sfu;
    this.#logger = logger;
    this.#queues = new ShowQueues(logger);
  }

  static create(settings: ForwarderSettings, sfu: SfuIngestClient, logger: Logger): SfuForwarderSupervisor {
    return new SfuForwarderSupervisor(settings, sfu, logger);
  }

  get showIds(): string[] {
    return [...this.#forwarders.keys()];
  }

  forwarderFor(showId: string): SfuForwarder | undefined {
    return this.#forwarders.get(showId);
  }

  startForwarding({ showId, sourceUrl }: { showId: string; sourceUrl: string }): Promise<void> {
    if (this.#closing) return Promise.resolve();
    return this.#queues.enqueue(showId, async () => {
      // A start without an end in between means the end was missed: finish the old one first.
      await this.#end(showId);
      if (this.#closing) return;
      const forwarder = SfuForwarder.create({ ...this.#settings, showId, sourceUrl, sfu: this.#sfu, logger: this.#logger });
      forwarder.on('forwarding', (event) => this.emit('forwarding', { showId, ...event }));
      forwarder.on('ffmpegExited', (event) => this.emit('ffmpegExited', { showId, ...event }));
      forwarder.on('restartScheduled', (event) => this.emit('restartScheduled', { showId, ...event }));
      this.#forwarders.set(showId, forwarder);
      // A first run that fails is retried by the forwarder itself.
      await forwarder.start();
    });
  }

  endForwarding(showId: string): Promise<void> {
    // Closing now marks the forwarder as stopping at once: its FFmpeg is about to see its input end,
    // and that exit must not be taken for a crash.
    void this.#forwarders.get(showId)?.close();
    return this.#queues.enqueue(showId, () => this.#end(showId));
  }

  /** Idempotent: ends every show's forwarding and accepts no new ones. */
  close(): Promise<void> {
    if (!this.#closing) {
      const showIds = new Set([...this.#forwarders.keys(), ...this.#queues.showIds]);
      this.#closing = Promise.all([...showIds].map((showId) => this.endForwarding(showId))).then(() => undefined);
    }
    return this.#closing;
  }

  async #end(showId: string): Promise<void> {
    const forwarder = this.#forwarders.get(showId);
    if (!forwarder) return;
    await forwarder.close();
    this.#forwarders.delete(showId);
  }
}
