import { EventEmitter, once } from 'node:events';
import { access, constants } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import * as mediasoup from 'mediasoup';
import type * as mediasoupTypes from 'mediasoup/types';
import { createLogger } from './logger.ts';

const logger = createLogger('WorkerPool');

export type WorkerPoolOptions = {
  /** How many workers to run: one per core, since each worker is a single-threaded process. */
  size: number;
  logLevel?: mediasoupTypes.WorkerLogLevel;
};

export type WorkerPoolEvents = {
  /**
   * A worker died. Emitted after its replacement was started (or failed to start), so that a room
   * on the dead worker can pick a live one at once. The dead worker's routers are already closed.
   */
  workerdied: [deadWorker: mediasoupTypes.Worker, error: Error];
};

/** A worker and what it carries, for the least-loaded pick. */
type PooledWorker = {
  worker: mediasoupTypes.Worker;
  routers: number;
  /** Open transports: each is one client's media connection, the unit of work a worker does. */
  transports: number;
};

export type WorkerLoad = { pid: number; routers: number; transports: number };

/** How long to wait before another try at replacing a dead worker that could not be replaced. */
const RESPAWN_BACKOFF_MS = [100, 1_000, 5_000, 30_000];
/** A closing worker exits within milliseconds; past this, do not hold up the shutdown. */
const SUBPROCESS_CLOSE_TIMEOUT_MS = 5_000;

/**
 * The mediasoup workers of this process: one per core, the least-loaded picked for each new room,
 * and a dead worker replaced by a fresh one (its rooms hear of it through `workerdied`).
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #size: number;
  readonly #logLevel: mediasoupTypes.WorkerLogLevel;
  readonly #workers = new Map<mediasoupTypes.Worker, PooledWorker>();
  #respawning = false;
  #closed = false;

  static async create({ size, logLevel = 'warn' }: WorkerPoolOptions): Promise<WorkerPool> {
    await assertWorkerBinary();
    const pool = new WorkerPool(size, logLevel);
    try {
      await Promise.all(Array.from({ length: size }, () => pool.#spawn()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    logger.info('workers running', { pids: pool.loads().map((load) => load.pid) });
    return pool;
  }

  private constructor(size: number, logLevel: mediasoupTypes.WorkerLogLevel) {
    super();
    this.#size = size;
    this.#logLevel = logLevel;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#workers.size;
  }

  /** The live worker carrying the fewest transports (then the fewest routers). */
  pick(): mediasoupTypes.Worker {
    const best = this.#leastLoaded(() => true);
    if (!best) throw new Error(this.#closed ? 'worker pool is closed' : 'no mediasoup worker is running');
    return best;
  }

  /**
   * The least-loaded live worker outside `avoid` (the workers a show already has routers on), so that
   * a show spread over several routers is also spread over several cores; any live worker when every
   * one is to be avoided.
   */
  pickAvoiding(avoid: ReadonlySet<mediasoupTypes.Worker>): mediasoupTypes.Worker {
    return this.#leastLoaded((worker) => !avoid.has(worker)) ?? this.pick();
  }

  #leastLoaded(accept: (worker: mediasoupTypes.Worker) => boolean): mediasoupTypes.Worker | undefined {
    let best: PooledWorker | undefined;
    for (const candidate of this.#workers.values()) {
      if (candidate.worker.closed || !accept(candidate.worker)) continue;
      if (!best || candidate.transports < best.transports || (candidate.transports === best.transports && candidate.routers < best.routers)) {
        best = candidate;
      }
    }
    return best?.worker;
  }

  loads(): WorkerLoad[] {
    return [...this.#workers.values()].map(({ worker, routers, transports }) => ({ pid: worker.pid, routers, transports }));
  }

  /** Closes every worker and waits for their processes to exit. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exits = [...this.#workers.keys()].map(async (worker) => {
      if (worker.subprocessClosed) return;
      const exited = once(worker, 'subprocessclose', { signal: AbortSignal.timeout(SUBPROCESS_CLOSE_TIMEOUT_MS) });
      worker.close();
      await exited.catch(() => logger.warn('worker did not exit in time', { pid: worker.pid }));
    });
    this.#workers.clear();
    await Promise.all(exits);
  }

  async #spawn(): Promise<mediasoupTypes.Worker> {
    const worker = await mediasoup.createWorker({ logLevel: this.#logLevel });
    if (this.#closed) {
      // The pool closed while this worker started (a late replacement): do not leak its process.
      worker.close();
      throw new Error('worker pool is closed');
    }
    const entry: PooledWorker = { worker, routers: 0, transports: 0 };
    this.#workers.set(worker, entry);

    // Count load from mediasoup's own observer events, so nothing else has to report it.
    worker.observer.on('newrouter', (router) => {
      entry.routers++;
      router.observer.once('close', () => entry.routers--);
      router.observer.on('newtransport', (transport) => {
        entry.transports++;
        transport.observer.once('close', () => entry.transports--);
      });
    });
    worker.once('died', (error) => void this.#onWorkerDied(worker, error));
    return worker;
  }

  async #onWorkerDied(deadWorker: mediasoupTypes.Worker, error: Error): Promise<void> {
    this.#workers.delete(deadWorker);
    if (this.#closed) return;
    logger.error('worker died, replacing it', { pid: deadWorker.pid, error });
    try {
      const replacement = await this.#spawn();
      logger.info('worker replaced', { deadPid: deadWorker.pid, pid: replacement.pid });
    } catch (spawnError) {
      logger.error('could not replace a dead worker; retrying in the background', { error: spawnError });
      if (!this.#respawning) void this.#respawnUntilFull();
    }
    if (!this.#closed) this.emit('workerdied', deadWorker, error);
  }

  /** Keeps trying to get back to full size: a worker that cannot start now (out of memory, say) may start later. */
  async #respawnUntilFull(): Promise<void> {
    this.#respawning = true;
    try {
      for (let attempt = 0; !this.#closed && this.#workers.size < this.#size; attempt++) {
        await sleep(RESPAWN_BACKOFF_MS[Math.min(attempt, RESPAWN_BACKOFF_MS.length - 1)]);
        if (this.#closed || this.#workers.size >= this.#size) return;
        try {
          await this.#spawn();
        } catch (error) {
          logger.error('worker respawn failed', { attempt, error });
        }
      }
    } finally {
      this.#respawning = false;
    }
  }
}

/** Fails with instructions rather than with mediasoup's bare spawn error when the worker binary is missing. */
async function assertWorkerBinary(): Promise<void> {
  try {
    await access(mediasoup.workerBin, constants.X_OK);
  } catch {
    throw new Error(
      `mediasoup worker binary not found or not executable at ${mediasoup.workerBin}. ` +
        'Build it with `node scripts/mediasoup-worker.mjs` (it prints the path) and set MEDIASOUP_WORKER_BIN to that path.',
    );
  }
}
