import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import type { RateLimitDecision, RateLimiter } from '../domain/rate-limit.ts';

/** The edge's rate limiter: @upstash/ratelimit's sliding window, shared by every Worker isolate. */
export class UpstashRateLimiter implements RateLimiter {
  readonly #ratelimit: Ratelimit;
  readonly #now: () => number;

  constructor({ redis, limit, windowMs, prefix, now = Date.now }: { redis: Redis; limit: number; windowMs: number; prefix: string; now?: () => number }) {
    this.#ratelimit = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(limit, `${windowMs} ms`), prefix, analytics: false });
    this.#now = now;
  }

  async take(key: string): Promise<RateLimitDecision> {
    const { success, reset } = await this.#ratelimit.limit(key);
    return { allowed: success, retryAfterMs: success ? 0 : Math.max(0, reset - this.#now()) };
  }
}
