import { z } from 'zod';

/** Money is an integer amount of minor units (cents) plus an ISO 4217 currency code. */
export const Money = z.object({
  amount: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 currency code such as USD'),
});
export type Money = z.infer<typeof Money>;
