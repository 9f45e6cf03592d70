import type { Kysely } from 'kysely';
import type { ReservationCounterSource } from '../adapters/redis-stock-reservations.ts';
import type { Database } from './schema.ts';

/** The SQL truth that Redis's reservation counters are (re)built from. */
export class SqlReservationCounters implements ReservationCounterSource {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async stock(productId: string): Promise<number> {
    const row = await this.#db.selectFrom('products').select(['stock', 'status']).where('id', '=', productId).executeTakeFirst();
    return row && row.status === 'active' ? Number(row.stock) : 0;
  }

  async dealUnits(showId: string, productId: string, buyerId: string | null): Promise<number> {
    const row = await this.#db
      .selectFrom('deal_sales')
      .select('units')
      .where('show_id', '=', showId)
      .where('product_id', '=', productId)
      .where('buyer_id', '=', buyerId ?? '*')
      .executeTakeFirst();
    return Number(row?.units ?? 0);
  }
}
