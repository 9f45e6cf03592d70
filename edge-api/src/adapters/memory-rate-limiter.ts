import type { RateLimitDecision, RateLimiter } from '../domain/rate-limit.ts';

/**
 * The single-node rate limiter for `npm start`: a sliding log of attempt times per key, like
 * @upstash/ratelimit's sliding window but exact, held in this process.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #attempts = new Map<string, number[]>();

  constructor({ limit, windowMs, now = Date.now }: { limit: number; windowMs: number; now?: () => number }) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  async take(key: string): Promise<RateLimitDecision> {
    const now = this.#now();
    const recent = (this.#attempts.get(key) ?? []).filter((at) => at > now - this.#windowMs);
    if (recent.length >= this.#limit) {
      this.#attempts.set(key, recent);
      return { allowed: false, retryAfterMs: recent[0]! + this.#windowMs - now };
    }
    recent.push(now);
    this.#attempts.set(key, recent);
    if (this.#attempts.size > 10_000) this.#forgetIdle(now);
    return { allowed: true, retryAfterMs: 0 };
  }

  /** Keeps memory bounded under a flood of distinct keys. */
  #forgetIdle(now: number): void {
    for (const [key, times] of this.#attempts) {
      if (times.at(-1)! <= now - this.#windowMs) this.#attempts.delete(key);
    }
  }
}
