import type { Kysely } from 'kysely';
import type { Offer, OfferSource } from '../domain/checkout.ts';
import { DomainError } from '../domain/errors.ts';
import type { Database } from './schema.ts';

/** Prices a pinned product in a live show: the flash deal's terms while it runs, else the list price. */
export class SqlOfferSource implements OfferSource {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async offerFor(showId: string, productId: string, now: number): Promise<Offer> {
    const row = await this.#db
      .selectFrom('shows')
      .leftJoin('show_pins', (join) => join.onRef('show_pins.show_id', '=', 'shows.id').on('show_pins.product_id', '=', productId))
      .leftJoin('products', 'products.id', 'show_pins.product_id')
      .select([
        'shows.status as show_status',
        'products.id as product_id',
        'products.seller_id',
        'products.status as product_status',
        'products.price_amount',
        'products.currency',
        'show_pins.deal_price_amount',
        'show_pins.deal_starts_at',
        'show_pins.deal_ends_at',
        'show_pins.deal_total_limit',
        'show_pins.deal_per_buyer_limit',
      ])
      .where('shows.id', '=', showId)
      .executeTakeFirst();
    if (!row) throw new DomainError('not_found', 'no show has that id');
    if (row.show_status !== 'live') throw new DomainError('conflict', 'the show is not live', { reason: 'show-not-live' });
    if (!row.product_id || row.product_status !== 'active') throw new DomainError('conflict', 'that product is not on sale in this show', { reason: 'not-pinned' });

    const dealRuns = row.deal_price_amount !== null && Number(row.deal_starts_at) <= now && now < Number(row.deal_ends_at);
    return {
      sellerId: row.seller_id!,
      unitPriceAmount: Number(dealRuns ? row.deal_price_amount : row.price_amount),
      currency: row.currency!.trim(),
      deal: dealRuns ? { totalLimit: row.deal_total_limit, perBuyerLimit: row.deal_per_buyer_limit } : null,
    };
  }
}
