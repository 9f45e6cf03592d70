import { MemoryRateLimiter } from '../adapters/memory-rate-limiter.ts';
import { createApp } from '../app.ts';
import { migrateToLatest } from '../db/migrations.ts';
import type { ProductLocks } from '../baseline/lock-per-product.ts';
import type { StockReservations } from '../domain/checkout.ts';
import { InProcessShowEvents } from '../realtime/in-process-show-events.ts';
import { sqlServices } from '../services.ts';
import { type BackendName, openBackend } from './backends.ts';

export const TEST_SECRET = 'a-test-secret-that-is-long-enough-to-use';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  services: ReturnType<typeof sqlServices>;
  events: InProcessShowEvents;
  database: Awaited<ReturnType<typeof openBackend>>['database'];
  close(): Promise<void>;
}

/** The real app over a real, freshly migrated database of the given backend. */
export interface TestAppOptions {
  backend?: BackendName;
  loginLimit?: number;
  /** The checkout's fast path, built over the test's database (its counters' source). */
  reservations?: ((database: TestApp['database']) => StockReservations) | null;
  paymentWindowMs?: number;
  now?: () => number;
  baselineLocks?: ProductLocks;
}

export async function createTestApp({ backend = 'pglite', loginLimit = 5, reservations = null, paymentWindowMs, now, baselineLocks }: TestAppOptions = {}): Promise<TestApp> {
  const opened = await openBackend(backend);
  await migrateToLatest(opened.database.db);
  const events = new InProcessShowEvents();
  let app: ReturnType<typeof createApp> | undefined;
  const services = sqlServices(opened.database, {
    secret: TEST_SECRET,
    loginLimiter: new MemoryRateLimiter({ limit: loginLimit, windowMs: 60_000 }),
    events,
    reservations: reservations ? reservations(opened.database) : null,
    deliverWebhook: async (request) => app!.fetch(request),
    ...(paymentWindowMs === undefined ? {} : { paymentWindowMs }),
    ...(now ? { now } : {}),
    ...(baselineLocks ? { baselineLocks } : {}),
    warn: () => {},
  });
  app = createApp(services);
  return { app, services, events, database: opened.database, close: () => opened.close() };
}

/** A JSON request for `app.request()`. */
export function jsonRequest(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

let accountCounter = 0;

/** Signs up a fresh account with `role` and returns its id and the headers that act as it. */
export async function signUpAs(app: TestApp['app'], role: 'shopper' | 'seller', displayName = `${role} ${++accountCounter}`) {
  const email = `${role}-${crypto.randomUUID()}@example.com`;
  const response = await app.request('/v1/auth/signup', jsonRequest('POST', { email, password: 'a long enough password', displayName, role }));
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const { user, token } = (await response.json()) as { user: { id: string }; token: string };
  return { id: user.id, headers: { authorization: `Bearer ${token}` } };
}
