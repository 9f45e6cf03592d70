import { PlainIngestResponse, plainIngestItemPath, plainIngestPath, type PlainIngestRequest } from '@mytaek1/contracts';

export interface SfuIngestClientOptions {
  /** The sfu's HTTP base URL, e.g. http://127.0.0.1:4443. */
  sfuUrl: string;
  /** The shared TOKEN_SECRET, sent as a bearer. */
  tokenSecret: string;
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** The sfu refused or could not be asked; `status` is its answer, undefined when there was none. */
export class SfuIngestError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined) {
    super(message);
    this.name = 'SfuIngestError';
    this.status = status;
  }
}

/**
 * The sfu's plain RTP ingest, over HTTP (packages/contracts/src/plain-rtp.ts): `open` asks for a
 * show's ingest (one per show: a new one replaces the previous) and answers where FFmpeg sends;
 * `close` ends it.
 */
export class SfuIngestClient {
  readonly #baseUrl: string;
  readonly #tokenSecret: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;

  private constructor(options: SfuIngestClientOptions) {
    this.#baseUrl = options.sfuUrl.replace(/\/+$/, '');
    this.#tokenSecret = options.tokenSecret;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  static create(options: SfuIngestClientOptions): SfuIngestClient {
    return new SfuIngestClient(options);
  }

  get sfuUrl(): string {
    return this.#baseUrl;
  }

  async open(showId: string, request: PlainIngestRequest): Promise<PlainIngestResponse> {
    const response = await this.#send('POST', plainIngestPath(showId), `opening show ${showId}'s ingest`, JSON.stringify(request));
    if (response.status !== 201) throw await refusal(response, `opening show ${showId}'s ingest`);
    const parsed = PlainIngestResponse.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new SfuIngestError(`opening show ${showId}'s ingest: the sfu's answer is not a PlainIngestResponse`, response.status);
    return parsed.data;
  }

  /** Resolves when the ingest is gone, including when the sfu no longer had it (404). */
  async close(showId: string, ingestId: string): Promise<void> {
    const response = await this.#send('DELETE', plainIngestItemPath(showId, ingestId), `closing show ${showId}'s ingest`);
    if (response.status === 204 || response.status === 404) {
      await response.body?.cancel();
      return;
    }
    throw await refusal(response, `closing show ${showId}'s ingest`);
  }

  async #send(method: string, path: string, what: string, body?: string): Promise<Response> {
    try {
      return await this.#fetch(`${this.#baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#tokenSecret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      throw new SfuIngestError(`${what}: the sfu at ${this.#baseUrl} could not be reached (${reason})`, undefined);
    }
  }
}

async function refusal(response: Response, what: string): Promise<SfuIngestError> {
  let title = '';
  try {
    const problem = (await response.json()) as { title?: unknown };
    if (typeof problem.title === 'string') title = ` (${problem.title.slice(0, 300)})`;
  } catch {
    // not a problem document
  }
  return new SfuIngestError(`${what}: the sfu answered ${response.status}${title}`, response.status);
}
