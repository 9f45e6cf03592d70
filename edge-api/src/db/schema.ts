import type { Generated } from 'kysely';

/**
 * The SQL schema as Kysely sees it. Instants are BIGINT epoch milliseconds and money BIGINT minor
 * units, so one set of queries means the same on MySQL and Postgres; drivers hand BIGINT back as a
 * string or a number, which the stores normalise with Number().
 */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  products: ProductsTable;
  shows: ShowsTable;
  stream_keys: StreamKeysTable;
  show_pins: ShowPinsTable;
  orders: OrdersTable;
  deal_sales: DealSalesTable;
  sandbox_payment_intents: SandboxPaymentIntentsTable;
  processed_webhook_events: { id: string; processed_at: BigIntColumn };
}

export interface OrdersTable {
  id: string;
  buyer_id: string;
  seller_id: string;
  show_id: string;
  product_id: string;
  quantity: number;
  unit_price_amount: BigIntColumn;
  currency: string;
  /** 1 when bought at a flash deal's price (booleans differ between MySQL and Postgres). */
  flash_deal: number;
  status: 'pending' | 'paid' | 'cancelled' | 'refunded' | 'fulfilled';
  payment_intent_id: string | null;
  idempotency_key: string;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
  expires_at: BigIntColumn;
}

export interface DealSalesTable {
  show_id: string;
  product_id: string;
  /** A buyer's id, or '*' for the deal's total across buyers. */
  buyer_id: string;
  units: number;
}

export interface SandboxPaymentIntentsTable {
  id: string;
  amount: BigIntColumn;
  currency: string;
  status: 'requires_confirmation' | 'requires_capture' | 'succeeded' | 'canceled';
  reference: string;
  client_secret: string;
  amount_refunded: BigIntColumn;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
}

export interface ShowPinsTable {
  show_id: string;
  slot: number;
  product_id: string;
  pinned_at: BigIntColumn;
  deal_price_amount: BigIntColumn | null;
  deal_currency: string | null;
  deal_starts_at: BigIntColumn | null;
  deal_ends_at: BigIntColumn | null;
  deal_total_limit: number | null;
  deal_per_buyer_limit: number | null;
}

export interface StreamKeysTable {
  stream_key: string;
  seller_id: string;
  created_at: BigIntColumn;
  revoked_at: BigIntColumn | null;
}

type BigIntColumn = string | number;

export interface UsersTable {
  id: string;
  email: string;
  display_name: string;
  role: 'shopper' | 'seller' | 'admin';
  password_hash: string;
  created_at: BigIntColumn;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: BigIntColumn;
  expires_at: BigIntColumn;
}

export interface ProductsTable {
  id: string;
  seller_id: string;
  title: string;
  description: string;
  /** JSON array of image URLs, kept as text so MySQL and Postgres read it alike. */
  image_urls: string;
  price_amount: BigIntColumn;
  currency: string;
  stock: number;
  status: 'active' | 'archived';
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
}

export interface ShowsTable {
  id: string;
  seller_id: string;
  title: string;
  description: string;
  status: 'scheduled' | 'live' | 'ended';
  scheduled_at: BigIntColumn;
  started_at: BigIntColumn | null;
  ended_at: BigIntColumn | null;
  replay_url: string | null;
  replay_duration_ms: BigIntColumn | null;
  created_at: BigIntColumn;
  /** Bumped on every write: lifecycle transitions are conditional on it, so two racing writers cannot both win. */
  version: Generated<number>;
}
