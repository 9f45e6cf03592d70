import { newId } from '@mytaek1/contracts';
import type { AppServices } from './app.ts';
import { LockPerProductOrderStore, type ProductLocks } from './baseline/lock-per-product.ts';
import { hashPassword, verifyPassword } from './auth/password.ts';
import { webCryptoSessionTokens } from './auth/session-tokens.ts';
import type { SqlDatabase } from './db/database.ts';
import { SqlOfferSource } from './db/offer-source.ts';
import { SqlOrderStore } from './db/order-store.ts';
import { SqlPinStore } from './db/pin-store.ts';
import { SqlProductStore } from './db/product-store.ts';
import { SqlSessionStore } from './db/session-store.ts';
import { SqlShowStore } from './db/show-store.ts';
import { SqlStreamKeyStore } from './db/stream-key-store.ts';
import { SqlUserStore } from './db/user-store.ts';
import { SqlWebhookEventStore } from './db/webhook-event-store.ts';
import { Accounts } from './domain/accounts.ts';
import { Checkout, type ShowEvents, type StockReservations } from './domain/checkout.ts';
import type { RateLimiter } from './domain/rate-limit.ts';
import { SandboxPayments } from './payments/sandbox-payments.ts';

/** Ten minutes to pay before a pending order's units go back on sale. */
export const DEFAULT_PAYMENT_WINDOW_MS = 10 * 60 * 1000;

/** Where the sandbox provider's webhooks go: handed in-process to the app's own webhook route. */
const SANDBOX_WEBHOOK_URL = 'http://edge-api.internal/v1/payments/webhook';

export interface ServiceOptions {
  /** The deployment's shared secret: signs session cookies here and admission tokens for the sfu and realtime rooms. */
  secret: string;
  loginLimiter: RateLimiter;
  /** The realtime port: stock after every commit, the seller's order feed. */
  events: ShowEvents;
  /** The fast path in front of the SQL stock guard; none on a single node. */
  reservations?: StockReservations | null;
  /** Delivers the sandbox provider's webhooks to this app (its fetch). */
  deliverWebhook: (request: Request) => Promise<Response>;
  paymentWindowMs?: number;
  /**
   * `lock-per-product` runs the seed project's design instead (the benchmark's baseline):
   * one lock per product, read stock, write, release. Never for production.
   */
  baselineLocks?: ProductLocks;
  rtmpUrl?: string;
  now?: () => number;
  warn?: (message: string, error: unknown) => void;
}

/** Wires the domain to SQL stores, Web Crypto and the sandbox provider; the same on Workers, on Node and in tests. */
export function sqlServices(database: SqlDatabase, options: ServiceOptions): AppServices {
  const { db, family } = database;
  const { secret, now = Date.now, warn = (message, error) => console.warn(`edge-api: ${message}:`, error) } = options;
  const makeId = () => newId(now());
  const webhookSecret = `${secret}:sandbox-webhooks`;
  const sandbox = new SandboxPayments({ db, webhookSecret, deliver: options.deliverWebhook, webhookUrl: SANDBOX_WEBHOOK_URL, now });
  const orders = options.baselineLocks ? new LockPerProductOrderStore(db, family, options.baselineLocks) : new SqlOrderStore(db, family);
  return {
    shows: new SqlShowStore(db),
    products: new SqlProductStore(db),
    streamKeys: new SqlStreamKeyStore(db),
    pins: new SqlPinStore(db),
    orders,
    checkout: new Checkout({
      offers: new SqlOfferSource(db),
      orders,
      reservations: options.baselineLocks ? null : (options.reservations ?? null),
      payments: sandbox,
      events: options.events,
      now,
      newId: makeId,
      paymentWindowMs: options.paymentWindowMs ?? DEFAULT_PAYMENT_WINDOW_MS,
      warn,
    }),
    sandbox,
    webhookSecret,
    webhookEvents: new SqlWebhookEventStore(db),
    accounts: new Accounts({
      users: new SqlUserStore(db),
      sessions: new SqlSessionStore(db),
      passwords: { hash: hashPassword, verify: verifyPassword },
      tokens: webCryptoSessionTokens,
      now,
      newId: makeId,
    }),
    loginLimiter: options.loginLimiter,
    secret,
    rtmpUrl: options.rtmpUrl ?? 'rtmp://localhost:1935/live',
    now,
    newId: makeId,
  };
}
