/** What went wrong, in domain terms; the HTTP layer maps each code to a status. */
export type DomainErrorCode = 'invalid' | 'unauthenticated' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  /** For `rate_limited`: when to try again. */
  readonly retryAfterMs: number | undefined;

  constructor(code: DomainErrorCode, message: string, { retryAfterMs }: { retryAfterMs?: number } = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}
