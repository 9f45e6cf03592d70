import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { Accounts } from './domain/accounts.ts';
import type { ProductStore } from './domain/catalog.ts';
import type { Checkout, OrderStore } from './domain/checkout.ts';
import type { SqlWebhookEventStore } from './db/webhook-event-store.ts';
import type { SandboxPayments } from './payments/sandbox-payments.ts';
import type { PinStore } from './domain/pins.ts';
import { DomainError } from './domain/errors.ts';
import type { RateLimiter } from './domain/rate-limit.ts';
import type { ShowStore } from './domain/shows.ts';
import type { StreamKeyStore } from './domain/stream-keys.ts';
import { type AuthEnv, authenticate } from './middleware/authenticate.ts';
import { problemFor, problemResponse } from './problems.ts';
import { admissionRoutes } from './routes/admission.ts';
import { authRoutes } from './routes/auth.ts';
import { mediaEventRoutes } from './routes/media-events.ts';
import { checkoutRoutes } from './routes/checkout.ts';
import { orderRoutes } from './routes/orders.ts';
import { paymentRoutes } from './routes/payments.ts';
import { type OpenApiDocument, renderDocs } from './routes/docs.ts';
import { pinRoutes } from './routes/pins.ts';
import { productRoutes } from './routes/products.ts';
import { showRoutes } from './routes/shows.ts';
import { streamKeyRoutes } from './routes/stream-keys.ts';
import { validationHook } from './validation.ts';
import { notifyRooms, type RoomFeed } from './realtime/room-feed.ts';

/** What the app needs from the outside world; the Node and Worker entries each assemble one (services.ts). */
export interface AppServices {
  shows: ShowStore;
  products: ProductStore;
  streamKeys: StreamKeyStore;
  pins: PinStore;
  orders: OrderStore;
  checkout: Checkout;
  /** The built-in payment provider, when it is the one in use (its buyer-side confirm route is mounted). */
  sandbox: SandboxPayments | null;
  webhookSecret: string;
  webhookEvents: SqlWebhookEventStore;
  accounts: Accounts;
  loginLimiter: RateLimiter;
  /** The deployment's shared secret: signs session cookies and admission tokens, authenticates the transcoder. */
  secret: string;
  /** Where OBS publishes, shown beside the stream key. */
  rtmpUrl: string;
  now: () => number;
  newId: () => string;
}

/** `roomFeed`: where changes to a show's pins and status are announced (its realtime room). */
export function createApp(services: AppServices, { roomFeed }: { roomFeed?: RoomFeed } = {}) {
  const app = new OpenAPIHono<AuthEnv>({ defaultHook: validationHook });
  app.onError((error, c) => {
    if (error instanceof DomainError) {
      const headers: Record<string, string> = error.retryAfterMs === undefined ? {} : { 'retry-after': String(Math.ceil(error.retryAfterMs / 1000)) };
      return problemResponse(problemFor(error.code, error.message, undefined, error.reason), headers);
    }
    if (error instanceof HTTPException) return problemResponse({ type: 'about:blank', title: error.message || 'Error', status: error.status });
    console.error(`${c.req.method} ${c.req.path} failed:`, error);
    return problemResponse({ type: 'about:blank', title: 'Internal error', status: 500, detail: 'the server could not complete the request' });
  });
  app.notFound((c) => problemResponse(problemFor('not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.use('/v1/*', authenticate(services.accounts, services.secret));
  if (roomFeed) app.use('/v1/shows/*', notifyRooms(roomFeed));
  if (roomFeed) app.use('/v1/internal/shows/*', notifyRooms(roomFeed));

  const routes = app
    .get('/healthz', (c) => c.json({ ok: true }))
    .route('/v1/auth', authRoutes(services))
    .route('/v1/products', productRoutes(services))
    .route('/v1/shows', showRoutes(services))
    .route('/v1/shows', admissionRoutes(services))
    .route('/v1/shows', pinRoutes(services))
    .route('/v1', streamKeyRoutes(services))
    .route('/v1', mediaEventRoutes(services))
    .route('/v1', checkoutRoutes(services))
    .route('/v1', orderRoutes(services))
    .route('/v1', paymentRoutes(services));
  app.openAPIRegistry.registerComponent('securitySchemes', 'serviceSecret', { type: 'http', scheme: 'bearer', description: 'The shared TOKEN_SECRET' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', { type: 'http', scheme: 'bearer', description: 'A session token from /v1/auth/login (the web uses the session cookie)' });
  const info = { openapi: '3.1.0', info: { title: 'MyTaek1 edge API', version: '0.1.0' } };
  app.doc31('/openapi.json', info);
  let docsPage: string | undefined;
  // The generator's type admits $refs and optional paths; our routes produce neither, and renderDocs reads only what it declares.
  app.get('/docs', (c) => c.html((docsPage ??= renderDocs(app.getOpenAPI31Document(info) as unknown as OpenApiDocument))));
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
