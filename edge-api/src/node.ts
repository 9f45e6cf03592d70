/**
 * The edge API on Node (`npm start`, self-hosting): the same Hono app as the Worker, over the
 * embedded PGlite by default, or PlanetScale / Neon by configuration.
 */
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { loadNodeConfig, type NodeConfig } from './config.ts';
import type { SqlDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrations.ts';
import { MemoryRateLimiter } from './adapters/memory-rate-limiter.ts';
import { Redis } from '@upstash/redis';
import { FAIL_FAST, upstashReservations } from './adapters/upstash.ts';
import { InProcessProductLocks, UpstashProductLocks } from './baseline/lock-per-product.ts';
import { InProcessShowEvents } from './realtime/in-process-show-events.ts';
import { NodeRoomHub } from './realtime/node-room-hub.ts';
import { apiRoomSource } from './realtime/room-source.ts';
import { seedDemoData } from './seed.ts';
import { sqlServices } from './services.ts';

export async function openConfiguredDatabase(config: NodeConfig): Promise<SqlDatabase> {
  switch (config.DATABASE_DRIVER) {
    case 'pglite': {
      const { openPGlite } = await import('./db/pglite.ts');
      return openPGlite(join(config.DATA_DIR, 'pg'));
    }
    case 'planetscale': {
      const { openPlanetScale } = await import('./db/planetscale.ts');
      return openPlanetScale(config.DATABASE_URL!);
    }
    case 'neon': {
      const { configureNeonForNode, openNeon } = await import('./db/neon.ts');
      await configureNeonForNode(config.NEON_LOCAL_ENDPOINT ? new URL(config.NEON_LOCAL_ENDPOINT) : undefined);
      return openNeon(config.DATABASE_URL!);
    }
  }
}

export { loadNodeConfig };

export async function startEdgeApi(config: NodeConfig = loadNodeConfig()) {
  const database = await openConfiguredDatabase(config);
  const applied = await migrateToLatest(database.db);
  if (applied.length) console.log(`edge-api: applied migrations ${applied.join(', ')}`);
  if (config.SEED_DEMO_DATA && (await seedDemoData(database.db))) console.log('edge-api: seeded demo seller, shopper, products and a scheduled show');

  // Five sign-in attempts a minute per account: enough for typos, useless for guessing.
  const loginLimiter = new MemoryRateLimiter({ limit: 5, windowMs: 60_000 });
  const events = new InProcessShowEvents();
  const redis = config.UPSTASH_REDIS_REST_URL ? new Redis({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN!, enableTelemetry: false, ...FAIL_FAST }) : null;
  const reservations = redis ? upstashReservations(redis, database) : null;
  const baselineLocks =
    config.CHECKOUT_DESIGN === 'lock-per-product' ? (redis ? new UpstashProductLocks(new Redis({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN!, enableTelemetry: false })) : new InProcessProductLocks()) : undefined;
  let app: ReturnType<typeof createApp> | undefined;
  const services = sqlServices(database, {
    secret: config.TOKEN_SECRET,
    loginLimiter,
    events,
    reservations,
    ...(baselineLocks ? { baselineLocks } : {}),
    deliverWebhook: async (request) => app!.fetch(request),
    paymentWindowMs: config.PAYMENT_WINDOW_SECONDS * 1000,
    rtmpUrl: config.RTMP_PUBLIC_URL,
  });
  // The realtime rooms: WebSocket upgrades on this server, fed by the checkout's show events.
  const rooms = new NodeRoomHub({ secret: config.TOKEN_SECRET, source: apiRoomSource((request) => app!.fetch(request)), events });
  app = createApp(services, { roomFeed: rooms });
  // Pending orders whose payment window lapsed are cancelled and their units put back on sale.
  const expiry = setInterval(() => {
    services.checkout.expirePending().catch((error: unknown) => console.error('edge-api: expiring unpaid orders failed:', error));
  }, 5_000);
  expiry.unref();
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: config.EDGE_API_HOST, port: config.EDGE_API_PORT }, () => resolve(s));
  });
  rooms.attach(server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.EDGE_API_PORT;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.EDGE_API_HOST}:${port}`,
    events,
    rooms,
    close: () =>
      (closing ??= (async () => {
        clearInterval(expiry);
        await rooms.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await database.close();
      })()),
  };
}

if (import.meta.main) {
  const api = await startEdgeApi();
  console.log(`edge-api: listening on ${api.url} (OpenAPI at ${api.url}/openapi.json)`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void api.close().then(() => process.exit(0)));
  }
}
