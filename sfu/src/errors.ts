import type { SignalingErrorCode } from '@mytaek1/contracts';

/** A request the sfu refuses: answered as `{ ok: false, error: { code, message } }`, the session goes on. */
export class RequestError extends Error {
  readonly code: SignalingErrorCode;

  constructor(code: SignalingErrorCode, message: string) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
  }
}
