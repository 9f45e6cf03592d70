/**
 * The edge API on Cloudflare Workers: the same Hono app as on Node, over PlanetScale or Neon, and a
 * Durable Object per show for its realtime room. Configured by wrangler.toml and its secrets.
 */
import { Redis } from '@upstash/redis/cloudflare';
import { MemoryRateLimiter } from './adapters/memory-rate-limiter.ts';
import { UpstashRateLimiter } from './adapters/upstash-rate-limiter.ts';
import { createApp } from './app.ts';
import type { SqlDatabase } from './db/database.ts';
import { openNeon } from './db/neon.ts';
import { openPlanetScale } from './db/planetscale.ts';
import type { RateLimiter } from './domain/rate-limit.ts';
import { ShowRoomObject } from './realtime/show-room-object.ts';
import { sqlServices } from './services.ts';

export interface WorkerEnv {
  DATABASE_DRIVER: 'planetscale' | 'neon';
  DATABASE_URL: string;
  TOKEN_SECRET: string;
  RTMP_PUBLIC_URL?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  SHOW_ROOMS: { idFromName(name: string): unknown; get(id: unknown): { fetch(request: Request): Promise<Response> } };
}

interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

function openWorkerDatabase(env: WorkerEnv): SqlDatabase {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not set: `wrangler secret put DATABASE_URL`');
  return env.DATABASE_DRIVER === 'neon' ? openNeon(env.DATABASE_URL, { maxConnections: 1 }) : openPlanetScale(env.DATABASE_URL);
}

let loginLimiter: RateLimiter | undefined;
/** Upstash's limiter is shared by every isolate; without Upstash, each isolate limits on its own. */
function workerLoginLimiter(env: WorkerEnv): RateLimiter {
  const settings = { limit: 5, windowMs: 60_000 };
  loginLimiter ??=
    env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
      ? new UpstashRateLimiter({ redis: new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }), prefix: 'ratelimit:login', ...settings })
      : new MemoryRateLimiter(settings);
  return loginLimiter;
}

const ROOM_PATH = /^\/v1\/shows\/([0-9a-f-]{36})\/room$/;

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    const room = ROOM_PATH.exec(new URL(request.url).pathname);
    if (room) return env.SHOW_ROOMS.get(env.SHOW_ROOMS.idFromName(room[1]!)).fetch(request);

    // A Worker may not share I/O objects between requests: each request opens its own database
    // handle (an HTTP client for PlanetScale, a one-connection pool for Neon) and closes it after.
    const database = openWorkerDatabase(env);
    const app = createApp(sqlServices(database, { secret: env.TOKEN_SECRET, loginLimiter: workerLoginLimiter(env), ...(env.RTMP_PUBLIC_URL ? { rtmpUrl: env.RTMP_PUBLIC_URL } : {}) }));
    const response = await app.fetch(request);
    ctx.waitUntil(database.close());
    return response;
  },
};

export { ShowRoomObject as ShowRoom };
