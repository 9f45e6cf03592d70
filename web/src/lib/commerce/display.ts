/**
 * How the show page and the order pages word stock, flash deals and countdowns. Pure functions of
 * their inputs (the caller passes the clock), so they render the same on the server and in tests.
 */
import type { FlashDeal, OrderStatus } from '@mytaek1/contracts';

/** At or below this many units the page says how many are left. */
export const LOW_STOCK = 5;

export type StockTone = 'out' | 'low' | 'plenty';

export function stockLabel(stock: number): { text: string; tone: StockTone } {
  if (stock <= 0) return { text: 'Sold out', tone: 'out' };
  if (stock <= LOW_STOCK) return { text: `${stock} left`, tone: 'low' };
  return { text: 'In stock', tone: 'plenty' };
}

/** Where a flash deal is at `now`: not yet on, on (the deal price applies), or over. */
export function dealPhase(deal: FlashDeal | null, now: number): 'upcoming' | 'running' | 'over' | null {
  if (!deal) return null;
  if (now < Date.parse(deal.startsAt)) return 'upcoming';
  return now < Date.parse(deal.endsAt) ? 'running' : 'over';
}

/** Milliseconds until `instant` → "4:05", "1:02:03"; never negative. Rounded up, so "0:00" means it has passed. */
export function formatCountdown(msLeft: number): string {
  const total = Math.max(0, Math.ceil(msLeft / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export function perBuyerLabel(deal: FlashDeal): string | null {
  return deal.perBuyerLimit ? `Limit ${deal.perBuyerLimit} per buyer` : null;
}

export const ORDER_STATUS_LABELS: Record<OrderStatus, string> = {
  pending: 'Awaiting payment',
  paid: 'Paid',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
  fulfilled: 'Shipped',
};
