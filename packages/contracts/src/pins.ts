import { z } from 'zod';
import { Id } from './ids.ts';
import { Money } from './money.ts';
import { Instant } from './shows.ts';

export const MAX_PINS_PER_SHOW = 3;

export const FlashDeal = z
  .object({
    price: Money,
    startsAt: Instant,
    endsAt: Instant,
    /** Units sold at the deal price across all buyers; absent means the product's stock is the limit. */
    totalLimit: z.int().positive().max(1_000_000).optional(),
    perBuyerLimit: z.int().positive().max(1000).optional(),
  })
  .refine((deal) => Date.parse(deal.endsAt) > Date.parse(deal.startsAt), { message: 'must end after it starts', path: ['endsAt'] })
  .refine((deal) => !deal.totalLimit || !deal.perBuyerLimit || deal.perBuyerLimit <= deal.totalLimit, {
    message: 'must not exceed the total limit',
    path: ['perBuyerLimit'],
  });
export type FlashDeal = z.infer<typeof FlashDeal>;

export const PinRequest = z.object({ flashDeal: FlashDeal.optional() });
export type PinRequest = z.input<typeof PinRequest>;

/** A product pinned to a show, as the show page shows it: with its live stock and any flash deal. */
export const Pin = z.object({
  showId: Id,
  productId: Id,
  slot: z.int().min(1).max(MAX_PINS_PER_SHOW),
  title: z.string(),
  imageUrls: z.array(z.string()),
  price: Money,
  stock: z.int().nonnegative(),
  flashDeal: FlashDeal.nullable(),
  pinnedAt: Instant,
});
export type Pin = z.infer<typeof Pin>;

export const PinList = z.object({ pins: z.array(Pin) });
export type PinList = z.infer<typeof PinList>;
