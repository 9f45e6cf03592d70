import type { Handle, HandleFetch, HandleServerError } from '@sveltejs/kit/hooks';
import { EDGE_API_URL } from '$app/env/private';
import { createServerApi } from './lib/api.ts';
import { edgeApiTarget, proxyToEdgeApi } from './lib/proxy.ts';

const edgeApiOrigin = new URL(EDGE_API_URL).origin;

export const handle: Handle = async ({ event, resolve }) => {
  const target = edgeApiTarget(event.url, EDGE_API_URL);
  if (target) {
    return proxyToEdgeApi(event.request, target, { clientAddress: clientAddressOf(event.getClientAddress) });
  }
  event.locals.api = createServerApi(EDGE_API_URL, event.fetch);
  return resolve(event);
};

/**
 * Server-side calls to the edge API act as the visitor: they carry the cookies the browser sent
 * with the page request, the same ones the /api proxy forwards. (Kit itself forwards cookies only
 * when the API shares the page's host name, which is not the case behind most deployments.)
 */
export const handleFetch: HandleFetch = ({ event, request, fetch }) => {
  const cookie = event.request.headers.get('cookie');
  if (cookie && new URL(request.url).origin === edgeApiOrigin && !request.headers.has('cookie')) {
    request.headers.set('cookie', cookie);
  }
  return fetch(request);
};

/** Unexpected errors are logged with their stack here; the visitor sees kit's generic message. */
export const handleError: HandleServerError = ({ kind, error, event }) => {
  if (kind === 'unknown') console.error(`web: ${event.request.method} ${event.url.pathname} failed:`, error);
};

/** The adapter can throw here (a configured address header missing from the request); that should not fail the proxy. */
function clientAddressOf(getClientAddress: () => string): string | undefined {
  try {
    return getClientAddress();
  } catch {
    return undefined;
  }
}
