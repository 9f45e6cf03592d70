import { DomainError } from './errors.ts';
import { type OrderRecord, type OrderStatus, releasesStock } from './orders.ts';

/**
 * The checkout: from "buy" to a paid order, never selling a unit that is not there.
 *
 * The guard is one conditional write at the source of truth (the SQL stock row, in the same
 * transaction as the order). An optional fast path in front of it (an atomic Redis reservation)
 * turns losers away without touching SQL; when that path is absent, down, or wrong, the SQL write
 * alone is still correct. Payment is authorise-then-capture: the order is paid only when its
 * capture succeeds, and a pending order that is not paid in time is cancelled and its units freed.
 */

/** Limits of a flash deal that apply to a purchase at the deal's price. */
export interface DealLimits {
  totalLimit: number | null;
  perBuyerLimit: number | null;
}

/** What a product costs in a show right now, and under which limits. */
export interface Offer {
  sellerId: string;
  unitPriceAmount: number;
  currency: string;
  /** Present while a flash deal runs: the price above is the deal's. */
  deal: DealLimits | null;
}

export interface OfferSource {
  /** The offer for a product pinned to a live show, or a refusal saying why it cannot be bought. */
  offerFor(showId: string, productId: string, now: number): Promise<Offer>;
}

export type Refusal = 'sold_out' | 'deal_sold_out' | 'buyer_limit';

export type CommitOutcome = 'committed' | Refusal | 'duplicate';

export interface OrderStore {
  /**
   * In one transaction: take `quantity` from the product's stock if that much is left, count the
   * units against the deal's limits, and insert the pending order. Nothing is written unless all hold.
   */
  commit(order: OrderRecord, deal: DealLimits | null): Promise<CommitOutcome>;
  get(id: string): Promise<OrderRecord | null>;
  findByIdempotencyKey(buyerId: string, key: string): Promise<OrderRecord | null>;
  findByPaymentIntent(intentId: string): Promise<OrderRecord | null>;
  hasPendingOrder(buyerId: string, showId: string, productId: string): Promise<boolean>;
  setPaymentIntent(orderId: string, intentId: string): Promise<void>;
  /**
   * Moves an order from `from` to `to` if it is still `from`, giving its units back to stock (and
   * to the deal's counts) in the same transaction when `to` releases stock. Null when it was not `from`.
   */
  transition(orderId: string, from: OrderStatus, to: OrderStatus, now: number): Promise<OrderRecord | null>;
  expiredPending(now: number, limit: number): Promise<OrderRecord[]>;
  listForBuyer(buyerId: string, limit: number): Promise<OrderRecord[]>;
  listForShow(showId: string, limit: number): Promise<OrderRecord[]>;
  stockOf(productId: string): Promise<number>;
}

export type ReservationOutcome = { status: 'held'; holdId: string } | { status: 'refused'; reason: Refusal };

export interface ReservationRequest {
  productId: string;
  showId: string;
  buyerId: string;
  quantity: number;
  deal: DealLimits | null;
  now: number;
}

/** The fast path in front of the SQL guard. Its failures must never block a sale the SQL guard allows. */
export interface StockReservations {
  reserve(request: ReservationRequest): Promise<ReservationOutcome>;
  /** The hold's units were committed in SQL: they are sold. */
  confirm(holdId: string): Promise<void>;
  /** The hold was not committed: give its units back. `resync` when SQL said sold out, so the counter is rebuilt. */
  release(holdId: string, options?: { resync?: boolean }): Promise<void>;
  /** A committed order was cancelled or refunded: its units are back in SQL, put them back here too. */
  restock(request: Omit<ReservationRequest, 'now' | 'deal'> & { deal: boolean }): Promise<void>;
}

export type PaymentIntentStatus = 'requires_confirmation' | 'requires_capture' | 'succeeded' | 'canceled';

export interface PaymentIntent {
  id: string;
  status: PaymentIntentStatus;
  amount: number;
  currency: string;
  /** Handed to the buyer's browser, which confirms the payment with the provider directly. */
  clientSecret: string;
}

export interface PaymentProvider {
  createIntent(request: { amount: number; currency: string; reference: string; idempotencyKey: string }): Promise<PaymentIntent>;
  getIntent(intentId: string): Promise<PaymentIntent | null>;
  /** Captures an authorised intent; returns its status afterwards. */
  capture(intentId: string): Promise<PaymentIntentStatus>;
  /** Voids an intent that was not captured; returns its status afterwards (`succeeded` if it was too late). */
  cancel(intentId: string): Promise<PaymentIntentStatus>;
  refund(intentId: string): Promise<void>;
}

/** What the show's room hears about: the stock after every change and the seller's order feed. */
export type ShowEvent =
  | { type: 'stock'; productId: string; stock: number }
  | { type: 'order'; orderId: string; productId: string; quantity: number; status: OrderStatus; buyerName?: string };

export interface ShowEvents {
  publish(showId: string, event: ShowEvent): Promise<void>;
}

export interface CheckoutDeps {
  offers: OfferSource;
  orders: OrderStore;
  /** Null on a single node: the SQL path alone. */
  reservations: StockReservations | null;
  payments: PaymentProvider;
  events: ShowEvents;
  now: () => number;
  newId: () => string;
  /** How long a pending order holds its units for payment. */
  paymentWindowMs: number;
  /** Where the fast path's failures are reported; they never fail a checkout. */
  warn: (message: string, error: unknown) => void;
}

export interface CheckoutRequest {
  buyerId: string;
  showId: string;
  productId: string;
  quantity: number;
  idempotencyKey: string;
  /** A buyer with a pending order for this product gets a second one only when asking for it. */
  allowAnother: boolean;
}

export interface CheckoutResult {
  order: OrderRecord;
  payment: PaymentIntent;
  /** True when this answers an earlier request with the same idempotency key. */
  replayed: boolean;
}

const REFUSALS: Record<Refusal, string> = {
  sold_out: 'sold out',
  deal_sold_out: 'the flash deal is sold out',
  buyer_limit: 'you have reached this deal’s limit per buyer',
};

export class Checkout {
  readonly #deps: CheckoutDeps;

  constructor(deps: CheckoutDeps) {
    this.#deps = deps;
  }

  async checkout(request: CheckoutRequest): Promise<CheckoutResult> {
    const { orders, offers, now } = this.#deps;
    const earlier = await orders.findByIdempotencyKey(request.buyerId, request.idempotencyKey);
    if (earlier) return this.#replay(earlier, request);

    const at = now();
    const offer = await offers.offerFor(request.showId, request.productId, at);
    if (offer.sellerId === request.buyerId) throw new DomainError('forbidden', 'sellers cannot buy their own products');
    if (!request.allowAnother && (await orders.hasPendingOrder(request.buyerId, request.showId, request.productId))) {
      // That pending order may be this very checkout, committed by a twin request a moment ago.
      const twin = await orders.findByIdempotencyKey(request.buyerId, request.idempotencyKey);
      if (twin) return this.#replay(twin, request);
      throw new DomainError('conflict', 'you already have an unpaid order for this product: pay for it, or ask for another', { reason: 'pending-order' });
    }

    const hold = await this.#reserve(request, offer.deal, at);
    const order: OrderRecord = {
      id: this.#deps.newId(),
      buyerId: request.buyerId,
      sellerId: offer.sellerId,
      showId: request.showId,
      productId: request.productId,
      quantity: request.quantity,
      unitPriceAmount: offer.unitPriceAmount,
      currency: offer.currency,
      flashDeal: offer.deal !== null,
      status: 'pending',
      paymentIntentId: null,
      idempotencyKey: request.idempotencyKey,
      createdAt: at,
      updatedAt: at,
      expiresAt: at + this.#deps.paymentWindowMs,
    };
    const outcome = await orders.commit(order, offer.deal);
    if (outcome !== 'committed') {
      if (hold) await this.#quietly(() => this.#deps.reservations!.release(hold, { resync: outcome === 'sold_out' }), 'release');
      if (outcome === 'duplicate') {
        const twin = await orders.findByIdempotencyKey(request.buyerId, request.idempotencyKey);
        if (twin) return this.#replay(twin, request);
        throw new DomainError('conflict', 'a checkout with this idempotency key is in progress');
      }
      throw refusal(outcome);
    }
    if (hold) await this.#quietly(() => this.#deps.reservations!.confirm(hold), 'confirm');
    await this.#publishStock(order);

    let payment: PaymentIntent;
    try {
      payment = await this.#deps.payments.createIntent({
        amount: order.unitPriceAmount * order.quantity,
        currency: order.currency,
        reference: order.id,
        idempotencyKey: `order:${order.id}`,
      });
    } catch (error) {
      // No way to pay: free the units now rather than holding them until the window lapses.
      this.#deps.warn(`payment intent for order ${order.id} could not be created; cancelling it`, error);
      await this.#cancel(order, 'pending');
      throw new DomainError('unavailable', 'the payment provider cannot be reached; nothing was charged, try again', { reason: 'payment-unavailable' });
    }
    await orders.setPaymentIntent(order.id, payment.id);
    return { order: { ...order, paymentIntentId: payment.id }, payment, replayed: false };
  }

  /** The provider says a payment was authorised: capture it if the order still waits for it, else void it. */
  async onPaymentAuthorized(intentId: string): Promise<OrderRecord | null> {
    const order = await this.#deps.orders.findByPaymentIntent(intentId);
    if (!order) return null;
    if (order.status !== 'pending') {
      // Too late (the window lapsed or the buyer cancelled): release the buyer's money.
      if (order.status === 'cancelled') await this.#deps.payments.cancel(intentId);
      return order;
    }
    const status = await this.#deps.payments.capture(intentId);
    return status === 'succeeded' ? this.#markPaid(order) : order;
  }

  /** The provider says a payment succeeded (captured): the order is paid, whatever raced with it. */
  async onPaymentSucceeded(intentId: string): Promise<OrderRecord | null> {
    const order = await this.#deps.orders.findByPaymentIntent(intentId);
    if (!order || order.status !== 'pending') return order;
    return this.#markPaid(order);
  }

  /**
   * Cancels pending orders whose payment window has lapsed and frees their units. An order whose
   * payment was authorised or captured meanwhile is paid instead: a paid order is never lost.
   */
  async expirePending(limit = 100): Promise<{ cancelled: number; paid: number }> {
    const due = await this.#deps.orders.expiredPending(this.#deps.now(), limit);
    let cancelled = 0;
    let paid = 0;
    for (const order of due) {
      // Capture first: an authorisation that arrived before the deadline is a payment, and is
      // honoured. Only a payment the buyer never confirmed is voided, and only then is the order cancelled.
      const captured = order.paymentIntentId ? await this.#deps.payments.capture(order.paymentIntentId) : 'canceled';
      const outcome = captured === 'requires_confirmation' ? await this.#deps.payments.cancel(order.paymentIntentId!) : captured;
      if (outcome === 'succeeded') {
        // The capture's own webhook may have marked it paid already; either way this sweep paid it.
        await this.#markPaid(order);
        paid++;
      } else if (outcome === 'canceled') {
        if (await this.#cancel(order, 'pending')) cancelled++;
      }
    }
    return { cancelled, paid };
  }

  /** The buyer gives up an unpaid order. */
  async cancelByBuyer(orderId: string, buyerId: string): Promise<OrderRecord> {
    const order = await this.#owned(orderId, (o) => o.buyerId === buyerId);
    if (order.status !== 'pending') throw new DomainError('conflict', `an order that is ${order.status} cannot be cancelled; ask the seller for a refund`);
    const status = order.paymentIntentId ? await this.#deps.payments.cancel(order.paymentIntentId) : 'canceled';
    if (status !== 'canceled') throw new DomainError('conflict', 'this order has just been paid; ask the seller for a refund');
    const cancelled = await this.#cancel(order, 'pending');
    if (!cancelled) throw new DomainError('conflict', 'the order changed meanwhile');
    return cancelled;
  }

  async fulfil(orderId: string, sellerId: string): Promise<OrderRecord> {
    const order = await this.#owned(orderId, (o) => o.sellerId === sellerId);
    const fulfilled = await this.#deps.orders.transition(order.id, 'paid', 'fulfilled', this.#deps.now());
    if (!fulfilled) throw new DomainError('conflict', `an order that is ${order.status} cannot be fulfilled`);
    await this.#publishOrder(fulfilled);
    return fulfilled;
  }

  /** The seller (or an admin) refunds a paid or fulfilled order; its units go back on sale. */
  async refund(orderId: string, actor: { id: string; isAdmin: boolean }): Promise<OrderRecord> {
    const order = await this.#owned(orderId, (o) => actor.isAdmin || o.sellerId === actor.id);
    if (order.status !== 'paid' && order.status !== 'fulfilled') throw new DomainError('conflict', `an order that is ${order.status} cannot be refunded`);
    await this.#deps.payments.refund(order.paymentIntentId!);
    const refunded = await this.#deps.orders.transition(order.id, order.status, 'refunded', this.#deps.now());
    if (!refunded) throw new DomainError('conflict', 'the order changed meanwhile');
    await this.#publishOrder(refunded);
    await this.#afterRelease(refunded);
    return refunded;
  }

  async #reserve(request: CheckoutRequest, deal: DealLimits | null, now: number): Promise<string | null> {
    const { reservations } = this.#deps;
    if (!reservations) return null;
    let outcome: ReservationOutcome;
    try {
      outcome = await reservations.reserve({ productId: request.productId, showId: request.showId, buyerId: request.buyerId, quantity: request.quantity, deal, now });
    } catch (error) {
      this.#deps.warn('stock reservation unavailable; checking out on the SQL guard alone', error);
      return null;
    }
    if (outcome.status === 'refused') throw refusal(outcome.reason);
    return outcome.holdId;
  }

  async #replay(order: OrderRecord, request: CheckoutRequest): Promise<CheckoutResult> {
    if (order.showId !== request.showId || order.productId !== request.productId || order.quantity !== request.quantity) {
      throw new DomainError('conflict', 'this idempotency key was used for a different checkout', { reason: 'idempotency-key-reused' });
    }
    const payment = order.paymentIntentId ? await this.#deps.payments.getIntent(order.paymentIntentId) : null;
    if (!payment) throw new DomainError('conflict', 'this checkout is still being processed; retry shortly', { reason: 'in-progress' });
    return { order, payment, replayed: true };
  }

  async #markPaid(order: OrderRecord): Promise<OrderRecord | null> {
    const paid = await this.#deps.orders.transition(order.id, 'pending', 'paid', this.#deps.now());
    if (paid) await this.#publishOrder(paid);
    return paid;
  }

  /** The seller's order feed hears of an order once it is paid, and of what happens to it after. */
  async #publishOrder(order: OrderRecord): Promise<void> {
    await this.#deps.events.publish(order.showId, { type: 'order', orderId: order.id, productId: order.productId, quantity: order.quantity, status: order.status });
  }

  async #cancel(order: OrderRecord, from: OrderStatus): Promise<OrderRecord | null> {
    const cancelled = await this.#deps.orders.transition(order.id, from, 'cancelled', this.#deps.now());
    if (cancelled) await this.#afterRelease(cancelled);
    return cancelled;
  }

  async #afterRelease(order: OrderRecord): Promise<void> {
    if (!releasesStock(order.status)) return;
    const { reservations } = this.#deps;
    if (reservations) {
      const restock = { productId: order.productId, showId: order.showId, buyerId: order.buyerId, quantity: order.quantity, deal: order.flashDeal };
      await this.#quietly(() => reservations.restock(restock), 'restock');
    }
    await this.#publishStock(order);
  }

  async #publishStock(order: OrderRecord): Promise<void> {
    const stock = await this.#deps.orders.stockOf(order.productId);
    await this.#deps.events.publish(order.showId, { type: 'stock', productId: order.productId, stock });
  }

  async #owned(orderId: string, mayAct: (order: OrderRecord) => boolean): Promise<OrderRecord> {
    const order = await this.#deps.orders.get(orderId);
    if (!order) throw new DomainError('not_found', 'no order has that id');
    if (!mayAct(order)) throw new DomainError('forbidden', 'this is not your order');
    return order;
  }

  async #quietly(action: () => Promise<void>, what: string): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.#deps.warn(`stock reservation ${what} failed; the SQL stock stays authoritative`, error);
    }
  }
}

function refusal(reason: Refusal): DomainError {
  return new DomainError('conflict', REFUSALS[reason], { reason: reason.replaceAll('_', '-') });
}
