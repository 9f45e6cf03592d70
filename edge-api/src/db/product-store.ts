import type { Kysely, Selectable } from 'kysely';
import type { ProductRecord, ProductStore } from '../domain/catalog.ts';
import type { Database, ProductsTable } from './schema.ts';

export class SqlProductStore implements ProductStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async get(id: string): Promise<ProductRecord | null> {
    const row = await this.#db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toProduct(row) : null;
  }

  async listActive({ sellerId, limit }: { sellerId?: string; limit: number }): Promise<ProductRecord[]> {
    let query = this.#db.selectFrom('products').selectAll().where('status', '=', 'active');
    if (sellerId) query = query.where('seller_id', '=', sellerId);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toProduct);
  }

  async insert(product: ProductRecord): Promise<void> {
    await this.#db.insertInto('products').values({ id: product.id, seller_id: product.sellerId, ...columns(product), created_at: product.createdAt }).execute();
  }

  async update(product: ProductRecord): Promise<void> {
    await this.#db.updateTable('products').set(columns(product)).where('id', '=', product.id).execute();
  }
}

function columns(product: ProductRecord) {
  return {
    title: product.title,
    description: product.description,
    image_urls: JSON.stringify(product.imageUrls),
    price_amount: product.priceAmount,
    currency: product.currency,
    stock: product.stock,
    status: product.status,
    updated_at: product.updatedAt,
  };
}

function toProduct(row: Selectable<ProductsTable>): ProductRecord {
  return {
    id: row.id,
    sellerId: row.seller_id,
    title: row.title,
    description: row.description,
    imageUrls: JSON.parse(row.image_urls) as string[],
    priceAmount: Number(row.price_amount),
    currency: row.currency.trim(),
    stock: Number(row.stock),
    status: row.status,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
