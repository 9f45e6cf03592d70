import { MAX_PINS_PER_SHOW } from '@mytaek1/contracts';
import type { Kysely } from 'kysely';
import type { PinRecord, PinStore, PinView } from '../domain/pins.ts';
import { isUniqueViolation } from './errors.ts';
import type { Database } from './schema.ts';

export class SqlPinStore implements PinStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async list(showId: string): Promise<PinView[]> {
    const rows = await this.#db
      .selectFrom('show_pins')
      .innerJoin('products', 'products.id', 'show_pins.product_id')
      .selectAll('show_pins')
      .select(['products.title', 'products.image_urls', 'products.price_amount', 'products.currency', 'products.stock'])
      .where('show_pins.show_id', '=', showId)
      .orderBy('show_pins.slot')
      .execute();
    return rows.map((row) => ({
      showId: row.show_id,
      productId: row.product_id,
      slot: Number(row.slot),
      pinnedAt: Number(row.pinned_at),
      title: row.title,
      imageUrls: JSON.parse(row.image_urls) as string[],
      priceAmount: Number(row.price_amount),
      currency: row.currency.trim(),
      stock: Number(row.stock),
      deal:
        row.deal_price_amount === null
          ? null
          : {
              priceAmount: Number(row.deal_price_amount),
              currency: row.deal_currency!.trim(),
              startsAt: Number(row.deal_starts_at),
              endsAt: Number(row.deal_ends_at),
              totalLimit: row.deal_total_limit,
              perBuyerLimit: row.deal_per_buyer_limit,
            },
    }));
  }

  async pin(pin: PinRecord): Promise<'pinned' | 'updated' | 'full'> {
    if (await this.#isPinned(pin)) return this.#updateDeal(pin);
    // Try each free slot; a concurrent pin that takes the same slot makes the insert fail on the
    // primary key, and the next slot is tried. The key, not this read, is what caps pins at three.
    const taken = new Set((await this.#db.selectFrom('show_pins').select('slot').where('show_id', '=', pin.showId).execute()).map((r) => Number(r.slot)));
    for (let slot = 1; slot <= MAX_PINS_PER_SHOW; slot++) {
      if (taken.has(slot)) continue;
      try {
        await this.#db.insertInto('show_pins').values({ show_id: pin.showId, slot, product_id: pin.productId, pinned_at: pin.pinnedAt, ...dealColumns(pin) }).execute();
        return 'pinned';
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Either the slot was just taken, or a twin request just pinned the same product.
        if (await this.#isPinned(pin)) return this.#updateDeal(pin);
      }
    }
    return 'full';
  }

  async #isPinned({ showId, productId }: PinRecord): Promise<boolean> {
    const row = await this.#db.selectFrom('show_pins').select('slot').where('show_id', '=', showId).where('product_id', '=', productId).executeTakeFirst();
    return row !== undefined;
  }

  async #updateDeal(pin: PinRecord): Promise<'updated'> {
    await this.#db.updateTable('show_pins').set(dealColumns(pin)).where('show_id', '=', pin.showId).where('product_id', '=', pin.productId).execute();
    return 'updated';
  }

  async unpin(showId: string, productId: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('show_pins').where('show_id', '=', showId).where('product_id', '=', productId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

function dealColumns({ deal }: PinRecord) {
  return {
    deal_price_amount: deal?.priceAmount ?? null,
    deal_currency: deal?.currency ?? null,
    deal_starts_at: deal?.startsAt ?? null,
    deal_ends_at: deal?.endsAt ?? null,
    deal_total_limit: deal?.totalLimit ?? null,
    deal_per_buyer_limit: deal?.perBuyerLimit ?? null,
  };
}
