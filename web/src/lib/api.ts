/**
 * The typed edge API client (Hono's `hc<AppType>`): request and response shapes come from the edge
 * API's routes, so nothing here restates them. The server talks to the edge API directly; the
 * browser goes through this site's `/api` proxy (see proxy.ts) so that session cookies stay HttpOnly.
 */
import { error, isHttpError } from '@sveltejs/kit';
import { createApiClient, type ApiClient } from '@mytaek1/edge-api/client';
import { API_PREFIX } from './proxy.ts';

export type { ApiClient };

/** How long a page render waits for the edge API before showing the "unreachable" error page. */
const SERVER_CALL_TIMEOUT_MS = 10_000;

/**
 * The client for server code, created per request in hooks.server.ts: `fetch` is the event's, so
 * the `handleFetch` hook can pass the visitor's cookies on to the edge API.
 */
export function createServerApi(edgeApiUrl: string, fetch: typeof globalThis.fetch): ApiClient {
  const fetchWithTimeout: typeof globalThis.fetch = (input, init) =>
    fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(SERVER_CALL_TIMEOUT_MS) });
  return createApiClient(edgeApiUrl, { fetch: fetchWithTimeout });
}

/** The client for code in the browser: same origin, through the proxy. */
export function createBrowserApi(): ApiClient {
  return createApiClient(API_PREFIX);
}

/**
 * Runs an edge API call from a `load` and turns "could not reach it at all" (refused, reset, timed
 * out) into a 503 error page that says so, instead of an opaque 500.
 */
export async function reachEdgeApi<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    if (isHttpError(cause)) throw cause;
    console.error('web: the edge API is unreachable:', cause);
    error(503, 'The show catalogue is unreachable right now. Please try again in a moment.');
  }
}
