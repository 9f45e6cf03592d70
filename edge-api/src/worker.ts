/**
 * The edge API on Cloudflare Workers: the same Hono app as on Node, over PlanetScale or Neon, and a
 * Durable Object per show for its realtime room. Configured by wrangler.toml and its secrets.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { MemoryRateLimiter } from './adapters/memory-rate-limiter.ts';
import { UpstashRateLimiter } from './adapters/upstash-rate-limiter.ts';
import { FAIL_FAST, upstashReservations } from './adapters/upstash.ts';
import { createApp } from './app.ts';
import type { SqlDatabase } from './db/database.ts';
import { openNeon } from './db/neon.ts';
import { openPlanetScale } from './db/planetscale.ts';
import type { RateLimiter } from './domain/rate-limit.ts';
import { DurableObjectShowEvents, type ShowRoomNamespace } from './realtime/durable-object-show-events.ts';
import { apiRoomSource } from './realtime/room-source.ts';
import { type DurableObjectContext, ShowRoomObject } from './realtime/show-room-object.ts';
import { sqlServices } from './services.ts';

export interface WorkerEnv {
  PAYMENT_WINDOW_SECONDS?: string;
  DATABASE_DRIVER: 'planetscale' | 'neon';
  DATABASE_URL: string;
  TOKEN_SECRET: string;
  RTMP_PUBLIC_URL?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  SHOW_ROOMS: ShowRoomNamespace;
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

function openWorkerDatabase(env: WorkerEnv): SqlDatabase {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not set: `wrangler secret put DATABASE_URL`');
  return env.DATABASE_DRIVER === 'neon' ? openNeon(env.DATABASE_URL, { maxConnections: 1 }) : openPlanetScale(env.DATABASE_URL);
}

function upstashFromEnv(env: WorkerEnv): Redis | null {
  return env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN ? new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, ...FAIL_FAST }) : null;
}

let loginLimiter: RateLimiter | undefined;
/** Upstash's limiter is shared by every isolate; without Upstash, each isolate limits on its own. */
function workerLoginLimiter(env: WorkerEnv): RateLimiter {
  const settings = { limit: 5, windowMs: 60_000 };
  const redis = upstashFromEnv(env);
  loginLimiter ??= redis ? new UpstashRateLimiter({ redis, prefix: 'ratelimit:login', ...settings }) : new MemoryRateLimiter(settings);
  return loginLimiter;
}

const ROOM_PATH = /^\/v1\/shows\/([0-9a-f-]{36})\/room$/;

/** The app for one request (a Worker may not share I/O objects between requests), and how to close it. */
function openWorkerApp(env: WorkerEnv) {
  const database = openWorkerDatabase(env);
  const redis = upstashFromEnv(env);
  let app: ReturnType<typeof createApp> | undefined;
  const events = new DurableObjectShowEvents(env.SHOW_ROOMS);
  const services = sqlServices(database, {
    secret: env.TOKEN_SECRET,
    loginLimiter: workerLoginLimiter(env),
    events,
    reservations: redis ? upstashReservations(redis, database) : null,
    deliverWebhook: async (request) => app!.fetch(request),
    ...(env.PAYMENT_WINDOW_SECONDS ? { paymentWindowMs: Number(env.PAYMENT_WINDOW_SECONDS) * 1000 } : {}),
    ...(env.RTMP_PUBLIC_URL ? { rtmpUrl: env.RTMP_PUBLIC_URL } : {}),
  });
  app = createApp(services, { roomFeed: events });
  return { app, services, close: () => database.close() };
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const room = ROOM_PATH.exec(new URL(request.url).pathname);
    if (room) {
      if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
      return env.SHOW_ROOMS.get(env.SHOW_ROOMS.idFromName(room[1]!)).fetch(request);
    }
    // Each request opens its own database handle (an HTTP client for PlanetScale, a one-connection
    // pool for Neon) and closes it after.
    const { app, close } = openWorkerApp(env);
    const response = await app.fetch(request);
    ctx.waitUntil(close());
    return response;
  },

  /** The cron trigger in wrangler.toml: cancels unpaid orders whose payment window lapsed. */
  async scheduled(_controller: unknown, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    const { services, close } = openWorkerApp(env);
    ctx.waitUntil(services.checkout.expirePending().finally(close));
  },
};

/** The show's room (binding SHOW_ROOMS): it reads the show and its pins through this Worker's own app. */
export class ShowRoom extends ShowRoomObject {
  constructor(ctx: DurableObjectContext, env: WorkerEnv) {
    super(ctx, {
      secret: env.TOKEN_SECRET,
      source: {
        async load(showId) {
          const { app, close } = openWorkerApp(env);
          try {
            return await apiRoomSource((request) => app.fetch(request)).load(showId);
          } finally {
            await close();
          }
        },
      },
    });
  }
}
