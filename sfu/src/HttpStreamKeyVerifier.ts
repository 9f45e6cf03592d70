import { INGEST_VERIFY_PATH, IngestVerifyResponse, type IngestVerifyRequest } from '@mytaek1/contracts';
import type { StreamKeyVerdict, StreamKeyVerifier } from './StreamKeyVerifier.ts';

export type HttpStreamKeyVerifierOptions = {
  /** The edge API's base URL, e.g. http://127.0.0.1:8787 (a path prefix is kept). */
  edgeApiUrl: string;
  /** The shared secret, sent as a bearer: only the sfu and the transcoder may ask which show a key opens. */
  tokenSecret: string;
  /** A publish waits for this answer; OBS gives up on its own after a few seconds. */
  timeoutMs?: number;
};

/**
 * Asks the edge API (`POST INGEST_VERIFY_PATH` with `{ streamKey }`, TOKEN_SECRET as bearer).
 * Every failure to get a clear answer refuses the publish (fail closed).
 */
export class HttpStreamKeyVerifier implements StreamKeyVerifier {
  readonly #endpoint: string;
  readonly #tokenSecret: string;
  readonly #timeoutMs: number;

  static create(options: HttpStreamKeyVerifierOptions): HttpStreamKeyVerifier {
    return new HttpStreamKeyVerifier(options);
  }

  private constructor({ edgeApiUrl, tokenSecret, timeoutMs = 5_000 }: HttpStreamKeyVerifierOptions) {
    this.#endpoint = `${edgeApiUrl.replace(/\/+$/, '')}${INGEST_VERIFY_PATH}`;
    this.#tokenSecret = tokenSecret;
    this.#timeoutMs = timeoutMs;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  async verify(streamKey: string): Promise<StreamKeyVerdict> {
    const body: IngestVerifyRequest = { streamKey };
    let response: Response;
    try {
      response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#tokenSecret}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch {
      return { ok: false, reason: 'verifier_unavailable' };
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return { ok: false, reason: `verifier_http_${response.status}` };
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      return { ok: false, reason: 'verifier_bad_response' };
    }
    const parsed = IngestVerifyResponse.safeParse(json);
    if (!parsed.success) return { ok: false, reason: 'verifier_bad_response' };
    return parsed.data.ok ? { ok: true, showId: parsed.data.showId, sellerId: parsed.data.sellerId } : { ok: false, reason: parsed.data.reason };
  }
}
