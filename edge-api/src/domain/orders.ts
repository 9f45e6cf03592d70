import { DomainError } from './errors.ts';

export type OrderStatus = 'pending' | 'paid' | 'cancelled' | 'refunded' | 'fulfilled';

/**
 * The order state machine. pending: units held, waiting for payment; paid: captured; fulfilled:
 * shipped by the seller; cancelled: never paid (expired, cancelled, payment voided), units given
 * back; refunded: paid, then the money returned, units given back. The last two are final.
 */
export const ORDER_TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ['paid', 'cancelled'],
  paid: ['fulfilled', 'refunded'],
  fulfilled: ['refunded'],
  cancelled: [],
  refunded: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new DomainError('conflict', `an order that is ${from} cannot become ${to}`);
}

/** Whether the order's units go back on the shelf when it moves to `to`. */
export function releasesStock(to: OrderStatus): boolean {
  return to === 'cancelled' || to === 'refunded';
}

export interface OrderRecord {
  id: string;
  buyerId: string;
  sellerId: string;
  showId: string;
  productId: string;
  quantity: number;
  unitPriceAmount: number;
  currency: string;
  flashDeal: boolean;
  status: OrderStatus;
  paymentIntentId: string | null;
  idempotencyKey: string;
  createdAt: number;
  updatedAt: number;
  /** For a pending order: when its hold lapses and it is cancelled unless paid. */
  expiresAt: number;
}
