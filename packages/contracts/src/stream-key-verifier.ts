import { INGEST_VERIFY_PATH, IngestVerifyResponse, type IngestVerifyRequest } from './ingest.ts';

// Stream-key verification, shared by the services that accept a seller’s media (transcoder, sfu).
/** What the edge API says of a stream key: the show it may publish, or why not. */
export type StreamKeyVerdict =
  | { ok: true; showId: string; sellerId: string }
  /** `unknown_key` and `no_scheduled_show` come from the edge API; `verifier_*` when it could not be asked. */
  | { ok: false; reason: string };

/**
 * The port through which the transcoder (RTMP) and the sfu (WHIP) check a stream key before accepting media. The edge API
 * owns stream keys; HttpStreamKeyVerifier asks it over HTTP, tests may answer themselves.
 */
export type StreamKeyVerifier = {
  verify(streamKey: string): Promise<StreamKeyVerdict>;
};


export interface HttpStreamKeyVerifierOptions {
  /** The edge API's base URL, e.g. http://127.0.0.1:8787 (a path prefix is kept). */
  edgeApiUrl: string;
  /** The shared secret, sent as a bearer: only the sfu and the transcoder may ask which show a key opens. */
  tokenSecret: string;
  /** A publish waits for this answer; OBS gives up on its own after a few seconds. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** Asks the edge API over HTTP. Every failure refuses the publish (fail closed). */
export class HttpStreamKeyVerifier implements StreamKeyVerifier {
  readonly #endpoint: string;
  readonly #tokenSecret: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;

  private constructor(options: HttpStreamKeyVerifierOptions) {
    this.#endpoint = `${options.edgeApiUrl.replace(/\/+$/, '')}${INGEST_VERIFY_PATH}`;
    this.#tokenSecret = options.tokenSecret;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  static create(options: HttpStreamKeyVerifierOptions): HttpStreamKeyVerifier {
    return new HttpStreamKeyVerifier(options);
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  async verify(streamKey: string): Promise<StreamKeyVerdict> {
    const body: IngestVerifyRequest = { streamKey };
    let response: Response;
    try {
      response = await this.#fetch(this.#endpoint, {
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
