import { UpstashRestServer } from '@mytaek1/local-cloud';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../domain/rate-limit.ts';
import { MemoryRateLimiter } from './memory-rate-limiter.ts';
import { UpstashRateLimiter } from './upstash-rate-limiter.ts';

/** Both limiters behind the port behave alike: `limit` attempts per window, then a wait. */
let upstash: UpstashRestServer;
beforeAll(async () => {
  upstash = await UpstashRestServer.create({ redis: { host: '127.0.0.1', port: 6379 }, token: 'limiter' });
});
afterAll(() => upstash.close());

const limiters: [string, (windowMs: number) => RateLimiter][] = [
  ['in memory', (windowMs) => new MemoryRateLimiter({ limit: 3, windowMs })],
  [
    'Upstash (@upstash/ratelimit over the Upstash REST endpoint)',
    (windowMs) =>
      new UpstashRateLimiter({ redis: new Redis({ url: upstash.url, token: 'limiter', enableTelemetry: false }), limit: 3, windowMs, prefix: `test:${crypto.randomUUID()}` }),
  ],
];

describe.each(limiters)('%s rate limiter', (_name, make) => {
  it('allows the limit, refuses the next with a wait, and counts keys apart', async () => {
    const limiter = make(60_000);
    const key = `login:${crypto.randomUUID()}`;
    for (let i = 0; i < 3; i++) expect((await limiter.take(key)).allowed).toBe(true);
    const refused = await limiter.take(key);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect((await limiter.take(`${key}:other`)).allowed).toBe(true);
  });

  it('allows again once the window has passed', async () => {
    const limiter = make(1_000);
    const key = `login:${crypto.randomUUID()}`;
    for (let i = 0; i < 3; i++) await limiter.take(key);
    expect((await limiter.take(key)).allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await limiter.take(key)).allowed).toBe(true);
  });
});
