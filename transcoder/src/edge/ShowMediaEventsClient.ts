import { ShowMediaEvent, showMediaEventsPath } from '@mytaek1/contracts';

export interface ShowMediaEventsClientOptions {
  /** The edge API's base URL, e.g. http://127.0.0.1:8787 (a path prefix is kept). */
  edgeApiUrl: string;
  /** The shared TOKEN_SECRET, sent as a bearer: only the media services report show events. */
  tokenSecret: string;
  /** A report that takes longer than this fails (the caller decides whether to retry). */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** Why a report was not recorded; `status` is the edge API's answer, undefined when there was none. */
export class ShowMediaEventError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined) {
    super(message);
    this.name = 'ShowMediaEventError';
    this.status = status;
  }

  /** Worth another try later: the edge API was unreachable, slow, or failed itself (5xx). */
  get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 429;
  }
}

/**
 * Tells the edge API, the only writer of show state, what happened to a show's media
 * (`POST /v1/internal/shows/{showId}/media-events`, see packages/contracts/src/ingest.ts):
 * a publish started (the show goes live), ended (the show ends), or its replay is ready.
 * Repeats are harmless on the edge API's side, so a caller may retry a failed report.
 */
export class ShowMediaEventsClient {
  readonly #baseUrl: string;
  readonly #tokenSecret: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;

  private constructor(options: ShowMediaEventsClientOptions) {
    this.#baseUrl = options.edgeApiUrl.replace(/\/+$/, '');
    this.#tokenSecret = options.tokenSecret;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  static create(options: ShowMediaEventsClientOptions): ShowMediaEventsClient {
    return new ShowMediaEventsClient(options);
  }

  endpointFor(showId: string): string {
    return `${this.#baseUrl}${showMediaEventsPath(showId)}`;
  }

  /** Resolves once the edge API recorded the event (204); rejects with a ShowMediaEventError otherwise. */
  async report(showId: string, event: ShowMediaEvent): Promise<void> {
    // Checked here so that a bad event fails in the caller's stack, not as a 400 from far away.
    const parsed = ShowMediaEvent.safeParse(event);
    if (!parsed.success) throw new ShowMediaEventError(`not a show media event: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`, undefined);
    const what = `${parsed.data.type} for show ${showId}`;
    let response: Response;
    try {
      response = await this.#fetch(this.endpointFor(showId), {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#tokenSecret}`, 'content-type': 'application/json', accept: 'application/problem+json' },
        body: JSON.stringify(parsed.data),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      throw new ShowMediaEventError(`reporting ${what} failed: the edge API could not be reached (${reason})`, undefined);
    }
    if (response.status === 204 || response.status === 200) {
      await response.body?.cancel();
      return;
    }
    const detail = await problemTitle(response);
    throw new ShowMediaEventError(`reporting ${what} failed: the edge API answered ${response.status}${detail ? ` (${detail})` : ''}`, response.status);
  }
}

/** The problem document's title and detail, if the answer carries one. */
async function problemTitle(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.json()) as { title?: unknown; detail?: unknown };
    const parts = [body.title, body.detail].filter((part): part is string => typeof part === 'string' && part.length > 0);
    return parts.length ? parts.join(': ').slice(0, 300) : undefined;
  } catch {
    return undefined;
  }
}
