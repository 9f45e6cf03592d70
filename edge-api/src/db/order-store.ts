import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CommitOutcome, DealLimits, OrderStore } from '../domain/checkout.ts';
import { assertTransition, type OrderRecord, type OrderStatus, releasesStock } from '../domain/orders.ts';
import type { SqlFamily } from './database.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database, OrdersTable } from './schema.ts';

/** The deal_sales row that counts a deal's units across all buyers. */
const ALL_BUYERS = '*';

/** Thrown inside a commit transaction to roll it back with an outcome. */
class Refused extends Error {
  readonly outcome: CommitOutcome;
  constructor(outcome: CommitOutcome) {
    super(outcome);
    this.outcome = outcome;
  }
}

export class SqlOrderStore implements OrderStore {
  readonly #db: Kysely<Database>;
  readonly #family: SqlFamily;

  constructor(db: Kysely<Database>, family: SqlFamily) {
    this.#db = db;
    this.#family = family;
  }

  async commit(order: OrderRecord, deal: DealLimits | null): Promise<CommitOutcome> {
    try {
      return await this.#db.transaction().execute(async (tx) => {
        // The oversell guard: a conditional decrement at the source of truth. Every buyer's
        // transaction takes this row first, so they also lock in one order and cannot deadlock.
        const taken = await tx
          .updateTable('products')
          .set((eb) => ({ stock: eb('stock', '-', order.quantity) }))
          .where('id', '=', order.productId)
          .where('status', '=', 'active')
          .where('stock', '>=', order.quantity)
          .executeTakeFirst();
        if (taken.numUpdatedRows !== 1n) throw new Refused('sold_out');
        if (deal) {
          await this.#countDealUnits(tx, order, ALL_BUYERS, deal.totalLimit, 'deal_sold_out');
          await this.#countDealUnits(tx, order, order.buyerId, deal.perBuyerLimit, 'buyer_limit');
        }
        try {
          await tx.insertInto('orders').values(orderRow(order)).execute();
        } catch (error) {
          if (isUniqueViolation(error)) throw new Refused('duplicate');
          throw error;
        }
        return 'committed' as const;
      });
    } catch (error) {
      if (error instanceof Refused) return error.outcome;
      throw error;
    }
  }

  /** Adds the order's units to a deal counter unless that would pass `limit`. */
  async #countDealUnits(tx: Transaction<Database>, order: OrderRecord, buyerId: string, limit: number | null, refusal: CommitOutcome) {
    const row = { show_id: order.showId, product_id: order.productId, buyer_id: buyerId, units: 0 };
    // Create the counter if it is missing, without failing (a failed insert would abort a Postgres transaction).
    if (this.#family === 'mysql') await tx.insertInto('deal_sales').values(row).ignore().execute();
    else await tx.insertInto('deal_sales').values(row).onConflict((oc) => oc.doNothing()).execute();
    let update = tx
      .updateTable('deal_sales')
      .set((eb) => ({ units: eb('units', '+', order.quantity) }))
      .where('show_id', '=', order.showId)
      .where('product_id', '=', order.productId)
      .where('buyer_id', '=', buyerId);
    if (limit !== null) update = update.where('units', '<=', limit - order.quantity);
    const counted = await update.executeTakeFirst();
    if (counted.numUpdatedRows !== 1n) throw new Refused(refusal);
  }

  async get(id: string): Promise<OrderRecord | null> {
    const row = await this.#db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toOrder(row) : null;
  }

  async findByIdempotencyKey(buyerId: string, key: string): Promise<OrderRecord | null> {
    const row = await this.#db.selectFrom('orders').selectAll().where('buyer_id', '=', buyerId).where('idempotency_key', '=', key).executeTakeFirst();
    return row ? toOrder(row) : null;
  }

  async findByPaymentIntent(intentId: string): Promise<OrderRecord | null> {
    const row = await this.#db.selectFrom('orders').selectAll().where('payment_intent_id', '=', intentId).executeTakeFirst();
    return row ? toOrder(row) : null;
  }

  async hasPendingOrder(buyerId: string, showId: string, productId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('orders')
      .select('id')
      .where('buyer_id', '=', buyerId)
      .where('show_id', '=', showId)
      .where('product_id', '=', productId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return row !== undefined;
  }

  async setPaymentIntent(orderId: string, intentId: string): Promise<void> {
    await this.#db.updateTable('orders').set({ payment_intent_id: intentId }).where('id', '=', orderId).execute();
  }

  async transition(orderId: string, from: OrderStatus, to: OrderStatus, now: number): Promise<OrderRecord | null> {
    assertTransition(from, to);
    return this.#db.transaction().execute(async (tx) => {
      const moved = await tx.updateTable('orders').set({ status: to, updated_at: now }).where('id', '=', orderId).where('status', '=', from).executeTakeFirst();
      if (moved.numUpdatedRows !== 1n) return null;
      const order = toOrder(await tx.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow());
      if (releasesStock(to)) {
        await tx.updateTable('products').set((eb) => ({ stock: eb('stock', '+', order.quantity) })).where('id', '=', order.productId).execute();
        if (order.flashDeal) {
          await tx
            .updateTable('deal_sales')
            .set((eb) => ({ units: eb('units', '-', order.quantity) }))
            .where('show_id', '=', order.showId)
            .where('product_id', '=', order.productId)
            .where('buyer_id', 'in', [ALL_BUYERS, order.buyerId])
            .execute();
        }
      }
      return order;
    });
  }

  async expiredPending(now: number, limit: number): Promise<OrderRecord[]> {
    const rows = await this.#db.selectFrom('orders').selectAll().where('status', '=', 'pending').where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
    return rows.map(toOrder);
  }

  async listForBuyer(buyerId: string, limit: number): Promise<OrderRecord[]> {
    const rows = await this.#db.selectFrom('orders').selectAll().where('buyer_id', '=', buyerId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toOrder);
  }

  async listForShow(showId: string, limit: number): Promise<OrderRecord[]> {
    const rows = await this.#db.selectFrom('orders').selectAll().where('show_id', '=', showId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toOrder);
  }

  async stockOf(productId: string): Promise<number> {
    const row = await this.#db.selectFrom('products').select('stock').where('id', '=', productId).executeTakeFirst();
    return Number(row?.stock ?? 0);
  }
}

/** The orders row of an order, as inserted. */
export function orderRow(order: OrderRecord) {
  return {
    id: order.id,
    buyer_id: order.buyerId,
    seller_id: order.sellerId,
    show_id: order.showId,
    product_id: order.productId,
    quantity: order.quantity,
    unit_price_amount: order.unitPriceAmount,
    currency: order.currency,
    flash_deal: order.flashDeal ? 1 : 0,
    status: order.status,
    payment_intent_id: order.paymentIntentId,
    idempotency_key: order.idempotencyKey,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
    expires_at: order.expiresAt,
  };
}

function toOrder(row: Selectable<OrdersTable>): OrderRecord {
  return {
    id: row.id,
    buyerId: row.buyer_id,
    sellerId: row.seller_id,
    showId: row.show_id,
    productId: row.product_id,
    quantity: Number(row.quantity),
    unitPriceAmount: Number(row.unit_price_amount),
    currency: row.currency.trim(),
    flashDeal: Number(row.flash_deal) === 1,
    status: row.status,
    paymentIntentId: row.payment_intent_id,
    idempotencyKey: row.idempotency_key,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: Number(row.expires_at),
  };
}
