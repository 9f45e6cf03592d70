import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';

/**
 * Migrations are code, listed here in order, written with Kysely's schema builder so that the same
 * steps run on MySQL (PlanetScale) and Postgres (Neon, PGlite). Never edit a released migration:
 * add the next one.
 */
const migrations: Record<string, Migration> = {
  '0001_accounts_catalog_shows': {
    async up(db) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
        .addColumn('display_name', 'varchar(64)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // A session row is keyed by the SHA-256 of its token: a leaked table does not leak sessions.
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id']).execute();
      await db.schema
        .createTable('products')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('seller_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
        .addColumn('title', 'varchar(200)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('image_urls', 'text', (c) => c.notNull())
        .addColumn('price_amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'char(3)', (c) => c.notNull())
        .addColumn('stock', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint('products_stock_nonnegative', sql`stock >= 0`)
        .execute();
      await db.schema.createIndex('products_seller').on('products').columns(['seller_id', 'status']).execute();
      await db.schema
        .createTable('shows')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('seller_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
        .addColumn('title', 'varchar(200)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('scheduled_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('shows_status_scheduled').on('shows').columns(['status', 'scheduled_at']).execute();
      await db.schema.createIndex('shows_seller').on('shows').columns(['seller_id']).execute();
      // One active RTMP stream key per seller; revoked keys stay for the audit trail. Kept readable
      // (not hashed) because sellers copy it into OBS again, as on other streaming platforms.
      await db.schema
        .createTable('stream_keys')
        .addColumn('stream_key', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('seller_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      // At most three pins per show, by construction: a pin takes one of three slots, and the primary
      // key (show, slot) refuses a fourth even when two sellers' tabs pin at the same instant.
      await db.schema
        .createTable('show_pins')
        .addColumn('show_id', 'varchar(36)', (c) => c.notNull().references('shows.id'))
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('product_id', 'varchar(36)', (c) => c.notNull().references('products.id'))
        .addColumn('pinned_at', 'bigint', (c) => c.notNull())
        .addColumn('deal_price_amount', 'bigint')
        .addColumn('deal_currency', 'char(3)')
        .addColumn('deal_starts_at', 'bigint')
        .addColumn('deal_ends_at', 'bigint')
        .addColumn('deal_total_limit', 'integer')
        .addColumn('deal_per_buyer_limit', 'integer')
        .addPrimaryKeyConstraint('show_pins_pk', ['show_id', 'slot'])
        .addUniqueConstraint('show_pins_product', ['show_id', 'product_id'])
        .addCheckConstraint('show_pins_slot_range', sql`slot between 1 and 3`)
        .execute();
      await db.schema.createIndex('stream_keys_seller').on('stream_keys').columns(['seller_id', 'revoked_at']).execute();
    },
  },
  '0002_checkout_orders_payments': {
    async up(db) {
      await db.schema
        .createTable('orders')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('buyer_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
        .addColumn('seller_id', 'varchar(36)', (c) => c.notNull().references('users.id'))
        .addColumn('show_id', 'varchar(36)', (c) => c.notNull().references('shows.id'))
        .addColumn('product_id', 'varchar(36)', (c) => c.notNull().references('products.id'))
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('unit_price_amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'char(3)', (c) => c.notNull())
        .addColumn('flash_deal', 'integer', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('payment_intent_id', 'varchar(64)')
        .addColumn('idempotency_key', 'varchar(128)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        // The same key from the same buyer is the same checkout: the database, not a lock, says so.
        .addUniqueConstraint('orders_buyer_idempotency', ['buyer_id', 'idempotency_key'])
        .execute();
      await db.schema.createIndex('orders_buyer').on('orders').columns(['buyer_id', 'created_at']).execute();
      await db.schema.createIndex('orders_show').on('orders').columns(['show_id', 'created_at']).execute();
      await db.schema.createIndex('orders_pending_expiry').on('orders').columns(['status', 'expires_at']).execute();
      await db.schema.createIndex('orders_payment_intent').on('orders').columns(['payment_intent_id']).execute();
      // Units sold at a flash deal's price, in total and per buyer, kept in the same transaction as
      // the stock they came from, so the limits hold at the source of truth too.
      await db.schema
        .createTable('deal_sales')
        .addColumn('show_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('product_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('buyer_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('units', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('deal_sales_pk', ['show_id', 'product_id', 'buyer_id'])
        .execute();
      // The sandbox payment provider's own records: it stands in for an external processor.
      await db.schema
        .createTable('sandbox_payment_intents')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'char(3)', (c) => c.notNull())
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('reference', 'varchar(64)', (c) => c.notNull())
        .addColumn('client_secret', 'varchar(96)', (c) => c.notNull())
        .addColumn('amount_refunded', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        // One intent per merchant reference (our order): creating it again returns the same intent.
        .addUniqueConstraint('sandbox_payment_intents_reference', ['reference'])
        .execute();
      // Webhook events already applied: a replayed delivery is acknowledged and ignored.
      await db.schema
        .createTable('processed_webhook_events')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('processed_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0003_show_replays': {
    async up(db) {
      // The finalised recording of a show (a VOD playlist URL), reported by the transcoder.
      await db.schema.alterTable('shows').addColumn('replay_url', 'varchar(2048)').execute();
      await db.schema.alterTable('shows').addColumn('replay_duration_ms', 'bigint').execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema up to date; throws with the failing migration's name if one fails. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results = [] } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
