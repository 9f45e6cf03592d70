export interface RateLimitDecision {
  allowed: boolean;
  /** When the caller may try again, in milliseconds from now (0 when allowed). */
  retryAfterMs: number;
}

/** Counts attempts per key within a window; Upstash's on Workers, an in-process one on a single node. */
export interface RateLimiter {
  take(key: string): Promise<RateLimitDecision>;
}
