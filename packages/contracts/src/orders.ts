import { z } from 'zod';
import { Id } from './ids.ts';
import { Money } from './money.ts';
import { Instant } from './shows.ts';

export const OrderStatus = z.enum(['pending', 'paid', 'cancelled', 'refunded', 'fulfilled']);
export type OrderStatus = z.infer<typeof OrderStatus>;

export const Order = z.object({
  id: Id,
  buyerId: Id,
  sellerId: Id,
  showId: Id,
  productId: Id,
  quantity: z.int().positive(),
  unitPrice: Money,
  total: Money,
  flashDeal: z.boolean(),
  status: OrderStatus,
  createdAt: Instant,
  /** While pending: when the order is cancelled unless paid. */
  payBy: Instant.nullable(),
});
export type Order = z.infer<typeof Order>;

export const OrderList = z.object({ orders: z.array(Order) });
export type OrderList = z.infer<typeof OrderList>;

/** Idempotency keys: whatever the client generates per purchase attempt (a UUID is ideal). */
export const IdempotencyKey = z.string().min(8, 'must be at least 8 characters').max(128, 'must be at most 128 characters').regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only');

export const CheckoutRequest = z.object({
  showId: Id,
  productId: Id,
  quantity: z.int('must be a whole number').min(1, 'at least 1').max(10, 'at most 10 per order').default(1),
  /** A second order for a product the buyer already has an unpaid order for. */
  allowAnother: z.boolean().default(false),
});
export type CheckoutRequest = z.input<typeof CheckoutRequest>;

export const PaymentIntentStatus = z.enum(['requires_confirmation', 'requires_capture', 'succeeded', 'canceled']);

export const CheckoutResponse = z.object({
  order: Order,
  payment: z.object({
    provider: z.literal('sandbox'),
    intentId: z.string(),
    clientSecret: z.string(),
    status: PaymentIntentStatus,
    amount: Money,
  }),
});
export type CheckoutResponse = z.infer<typeof CheckoutResponse>;

/** The buyer's browser confirming a sandbox payment, as a processor's browser SDK would. */
export const SandboxConfirmRequest = z.object({
  clientSecret: z.string().min(1),
  cardNumber: z.string().regex(/^[\d ]{12,23}$/, 'must be a card number'),
});
export type SandboxConfirmRequest = z.infer<typeof SandboxConfirmRequest>;
