import type { Id } from '@mytaek1/contracts';
import type { StreamKeyVerdict, StreamKeyVerifier } from './StreamKeyVerifier.ts';

export interface StreamKeyGrant {
  showId: Id;
  sellerId: Id;
}

/** Stream keys held in memory: for tests, and for running the transcoder without an edge API. */
export class InMemoryStreamKeyVerifier implements StreamKeyVerifier {
  readonly #grants = new Map<string, StreamKeyGrant>();
  /** Every key asked about, in order: lets a test prove a refusal came from the verifier. */
  readonly asked: string[] = [];

  private constructor() {}

  static create(grants: Record<string, StreamKeyGrant> = {}): InMemoryStreamKeyVerifier {
    const verifier = new InMemoryStreamKeyVerifier();
    for (const [streamKey, grant] of Object.entries(grants)) verifier.grant(streamKey, grant);
    return verifier;
  }

  grant(streamKey: string, grant: StreamKeyGrant): void {
    this.#grants.set(streamKey, grant);
  }

  revoke(streamKey: string): void {
    this.#grants.delete(streamKey);
  }

  async verify(streamKey: string): Promise<StreamKeyVerdict> {
    this.asked.push(streamKey);
    const grant = this.#grants.get(streamKey);
    return grant ? { ok: true, ...grant } : { ok: false, reason: 'unknown_stream_key' };
  }
}
