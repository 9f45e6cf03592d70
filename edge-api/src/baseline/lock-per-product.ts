import { Lock } from '@upstash/lock';
import type { Redis } from '@upstash/redis';
import type { Kysely } from 'kysely';
import type { SqlFamily } from '../db/database.ts';
import { orderRow, SqlOrderStore } from '../db/order-store.ts';
import type { Database } from '../db/schema.ts';
import type { CommitOutcome, DealLimits } from '../domain/checkout.ts';
import { DomainError } from '../domain/errors.ts';
import type { OrderRecord } from '../domain/orders.ts';

/**
 * The seed project's checkout, kept only as the benchmark's baseline (CHECKOUT_DESIGN=lock-per-product):
 * every buyer of a product queues for one distributed lock, reads the stock, writes the new stock
 * and the order, and releases. It is correct only while the lease holds (a lease on an
 * asynchronously replicated store, which @upstash/lock's README warns against relying on), and it
 * serialises the whole rush. Not for production: the reservation design replaces it.
 */
export interface ProductLocks {
  /** Runs `work` holding the product's lock; throws when the lock cannot be had in time. */
  withLock<T>(productId: string, work: () => Promise<T>): Promise<T>;
}

/** Redisson's role in the seed, played by @upstash/lock: a lease, retried until acquired. */
export class UpstashProductLocks implements ProductLocks {
  readonly #redis: Redis;
  readonly #leaseMs: number;
  readonly #waitMs: number;

  constructor(redis: Redis, { leaseMs = 5_000, waitMs = 30_000 } = {}) {
    this.#redis = redis;
    this.#leaseMs = leaseMs;
    this.#waitMs = waitMs;
  }

  async withLock<T>(productId: string, work: () => Promise<T>): Promise<T> {
    // @upstash/lock's own retries count attempts, not time; a deadline bounds the wait as Redisson's
    // tryLock(wait) does. Redisson wakes waiters by pub/sub where this polls, with jitter.
    // @upstash/lock's typings name @upstash/redis's CommonJS declarations; the class is the same at run time.
    const redis = this.#redis as unknown as ConstructorParameters<typeof Lock>[0]['redis'];
    const lock = new Lock({ id: `lock:product:${productId}`, redis, lease: this.#leaseMs, retry: { attempts: 1, delay: 0 } });
    const deadline = Date.now() + this.#waitMs;
    while (!(await lock.acquire())) {
      if (Date.now() >= deadline) throw new DomainError('unavailable', 'the product is busy; try again', { reason: 'lock-timeout' });
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
    }
    try {
      return await work();
    } finally {
      await lock.release();
    }
  }
}

/** The single-node form of the same design: one in-process queue per product. */
export class InProcessProductLocks implements ProductLocks {
  readonly #tails = new Map<string, Promise<unknown>>();

  async withLock<T>(productId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(productId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.#tails.set(productId, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(productId) === tail) this.#tails.delete(productId);
    }
  }
}

export class LockPerProductOrderStore extends SqlOrderStore {
  readonly #db: Kysely<Database>;
  readonly #locks: ProductLocks;

  constructor(db: Kysely<Database>, family: SqlFamily, locks: ProductLocks) {
    super(db, family);
    this.#db = db;
    this.#locks = locks;
  }

  override commit(order: OrderRecord, _deal: DealLimits | null): Promise<CommitOutcome> {
    return this.#locks.withLock(order.productId, async () => {
      const row = await this.#db.selectFrom('products').select('stock').where('id', '=', order.productId).executeTakeFirst();
      const stock = Number(row?.stock ?? 0);
      if (stock < order.quantity) return 'sold_out';
      // Read, then write what was read minus the order: safe only because (and while) the lock is held.
      return this.#db.transaction().execute(async (tx) => {
        await tx.updateTable('products').set({ stock: stock - order.quantity }).where('id', '=', order.productId).execute();
        await tx.insertInto('orders').values(orderRow(order)).execute();
        return 'committed' as const;
      });
    });
  }
}
