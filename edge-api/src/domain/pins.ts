import type { ProductRecord } from './catalog.ts';
import { DomainError } from './errors.ts';
import type { ShowRecord } from './shows.ts';

export interface FlashDealTerms {
  priceAmount: number;
  currency: string;
  startsAt: number;
  endsAt: number;
  totalLimit: number | null;
  perBuyerLimit: number | null;
}

export interface PinRecord {
  showId: string;
  productId: string;
  pinnedAt: number;
  deal: FlashDealTerms | null;
}

/** A pin as the show page lists it: with its slot and the product's current title, price and stock. */
export interface PinView extends PinRecord {
  slot: number;
  title: string;
  imageUrls: string[];
  priceAmount: number;
  currency: string;
  stock: number;
}

export interface PinStore {
  list(showId: string): Promise<PinView[]>;
  /** Pins into a free slot, or updates the deal of a product already pinned; 'full' when every slot is taken. */
  pin(pin: PinRecord): Promise<'pinned' | 'updated' | 'full'>;
  unpin(showId: string, productId: string): Promise<boolean>;
}

/** Checks that `actorId` may pin `product` to `show` with `deal`, and returns the pin to store. */
export function preparePin(show: ShowRecord, product: ProductRecord, actorId: string, deal: FlashDealTerms | null, now: number): PinRecord {
  if (show.sellerId !== actorId) throw new DomainError('forbidden', 'only the show’s seller may pin products to it');
  if (show.status === 'ended') throw new DomainError('conflict', 'the show has ended');
  if (product.sellerId !== actorId) throw new DomainError('forbidden', 'a show can only pin its seller’s own products');
  if (product.status !== 'active') throw new DomainError('conflict', 'an archived product cannot be pinned');
  if (deal) {
    if (deal.currency !== product.currency) throw new DomainError('invalid', `the deal must be priced in ${product.currency}, like the product`);
    if (deal.priceAmount >= product.priceAmount) throw new DomainError('invalid', 'a flash deal must be cheaper than the product’s price');
    if (deal.endsAt <= now) throw new DomainError('invalid', 'the flash deal would already be over');
  }
  return { showId: show.id, productId: product.id, pinnedAt: now, deal };
}

export function assertMayUnpin(show: ShowRecord, actorId: string): void {
  if (show.sellerId !== actorId) throw new DomainError('forbidden', 'only the show’s seller may unpin products');
}
