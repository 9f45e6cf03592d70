import type { Handle, HandleFetch, HandleServerError } from '@sveltejs/kit/hooks';
import { EDGE_API_URL } from '$app/env/private';
import { createServerApi } from './lib/api.ts';
import { fillHeadStart } from './lib/headStart.ts';
import { edgeApiTarget, proxyToEdgeApi } from './lib/proxy.ts';
import { withPassedCookies } from './lib/session.ts';

const edgeApiOrigin = new URL(EDGE_API_URL).origin;

export const handle: Handle = async ({ event, resolve }) => {
  const target = edgeApiTarget(event.url, EDGE_API_URL);
  if (target) {
    return proxyToEdgeApi(event.request, target, { clientAddress: clientAddressOf(event.getClientAddress) });
  }
  event.locals.api = createServerApi(EDGE_API_URL, event.fetch);
  event.locals.edgeApiSetCookies = [];
  const response = await resolve(event, { transformPageChunk: ({ html }) => fillHeadStart(html, event.locals.headStart) });
  return withPassedCookies(event.locals, response);
};

/**
 * Server-side calls to the edge API act as the visitor: they carry the cookies the browser sent
 * with the page request, the same ones the /api proxy forwards. (Kit itself forwards cookies only
 * when the API shares the page's host name, which is not the case behind most deployments.)
 */
export const handleFetch: HandleFetch = ({ event, request, fetch }) => {
  if (new URL(request.url).origin !== edgeApiOrigin) return fetch(request);
  const cookie = event.request.headers.get('cookie');
  if (cookie && !request.headers.has('cookie')) request.headers.set('cookie', cookie);
  // The API marks the session cookie Secure when the visitor's connection is https; without this it
  // would see only this server's own plain-http call (the /api proxy says the same, see proxy.ts).
  request.headers.set('x-forwarded-proto', event.url.protocol.replace(/:$/, ''));
  request.headers.set('x-forwarded-host', event.url.host);
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
