/** What went wrong, in domain terms; the HTTP layer maps each code to a status. */
export type DomainErrorCode = 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited' | 'unavailable';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  /** For `rate_limited`: when to try again. */
  readonly retryAfterMs: number | undefined;
  /** A finer reason a client can act on, e.g. `sold-out` for a conflict. */
  readonly reason: string | undefined;

  constructor(code: DomainErrorCode, message: string, { retryAfterMs, reason }: { retryAfterMs?: number; reason?: string } = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.reason = reason;
  }
}
