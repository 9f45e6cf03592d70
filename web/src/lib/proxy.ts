/**
 * The same-origin door to the edge API: the browser calls `/api/*` on this site and the web server
 * forwards the call to `${EDGE_API_URL}/*`. Keeping the API on the page's own origin means session
 * cookies can be HttpOnly, SameSite=Lax cookies of this site, with no CORS and no token in
 * JavaScript. Nothing here depends on SvelteKit, so it is tested against plain HTTP servers.
 */
import type { Problem } from '@mytaek1/contracts';

/** Where the browser reaches the edge API on this site's origin. */
export const API_PREFIX = '/api';

/** The edge API URL a request to this site's `/api/*` goes to, or null for every other path. */
export function edgeApiTarget(url: URL, edgeApiUrl: string): URL | null {
  if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) return null;
  const path = url.pathname.slice(API_PREFIX.length) || '/';
  // Concatenated rather than resolved with `new URL(path, base)`, which would drop a path prefix in
  // EDGE_API_URL (an API mounted under /edge behind a gateway).
  return new URL(`${edgeApiUrl.replace(/\/+$/, '')}${path}${url.search}`);
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message; a proxy drops them. */
const HOP_BY_HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The hop-by-hop headers plus any header the sender named in its own `Connection` header. */
function connectionScopedHeaders(headers: Headers): Set<string> {
  const named = (headers.get('connection') ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
  return new Set([...HOP_BY_HOP_HEADERS, ...named]);
}

/** What the proxy tells the edge API about the original request, as X-Forwarded-* headers. */
export interface ForwardedFor {
  /** The browser's address as the web server saw it, appended to any X-Forwarded-For chain. */
  clientAddress?: string | undefined;
  /** The URL the browser requested on this site. */
  url: URL;
}

/**
 * The headers sent on to the edge API: the browser's, cookies and authorization included, minus
 * hop-by-hop ones, plus X-Forwarded-For/-Host/-Proto so the API can rate-limit and build links.
 */
export function upstreamRequestHeaders(incoming: Headers, forwarded: ForwardedFor): Headers {
  const dropped = connectionScopedHeaders(incoming);
  // `host` and `content-length` are derived by fetch from the target URL and the body it sends.
  // `accept-encoding` is left to Node's fetch, which decodes what it asked for: forwarding the
  // browser's list could bring back an encoding Node cannot decode (see downstreamResponseHeaders).
  for (const name of ['host', 'content-length', 'accept-encoding']) dropped.add(name);

  const headers = new Headers();
  for (const [name, value] of incoming) {
    if (!dropped.has(name)) headers.append(name, value);
  }
  if (forwarded.clientAddress) {
    const chain = incoming.get('x-forwarded-for');
    headers.set('x-forwarded-for', chain ? `${chain}, ${forwarded.clientAddress}` : forwarded.clientAddress);
  }
  headers.set('x-forwarded-host', forwarded.url.host);
  headers.set('x-forwarded-proto', forwarded.url.protocol.replace(/:$/, ''));
  return headers;
}

/**
 * The headers returned to the browser: the edge API's, minus hop-by-hop ones, with every
 * Set-Cookie kept as its own header (joining them with commas would corrupt cookie dates).
 */
export function downstreamResponseHeaders(upstream: Headers): Headers {
  const dropped = connectionScopedHeaders(upstream);
  // Node's fetch has already decoded a compressed body, so the encoding and the length the edge
  // API declared no longer describe the bytes that are passed on.
  dropped.add('content-encoding');
  dropped.add('content-length');
  dropped.add('set-cookie');

  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (!dropped.has(name)) headers.append(name, value);
  }
  for (const cookie of upstream.getSetCookie()) headers.append('set-cookie', cookie);
  return headers;
}

/** Statuses whose responses never carry a body (a Response with one would throw). */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Node's fetch streams a request body only when told the stream is half-duplex. */
type StreamingRequestInit = RequestInit & { duplex?: 'half' };

export interface ProxyOptions {
  clientAddress?: string | undefined;
  /** The fetch that reaches the edge API; the global one unless a test substitutes it. */
  fetch?: typeof fetch;
}

/**
 * Forwards `request` to `target` and returns the edge API's answer as it is: method, headers,
 * cookies and body go up; status, headers, Set-Cookie and body come back. Redirects are passed to
 * the browser rather than followed. An unreachable edge API becomes a 502 problem document.
 */
export async function proxyToEdgeApi(request: Request, target: URL, options: ProxyOptions = {}): Promise<Response> {
  const fetchUpstream = options.fetch ?? fetch;
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
  const init: StreamingRequestInit = {
    method: request.method,
    headers: upstreamRequestHeaders(request.headers, { clientAddress: options.clientAddress, url: new URL(request.url) }),
    body: hasBody ? request.body : null,
    redirect: 'manual',
    // The browser going away cancels the upstream call too.
    signal: request.signal,
  };
  if (hasBody) init.duplex = 'half';

  let upstream: Response;
  try {
    upstream = await fetchUpstream(target, init);
  } catch (error) {
    if (request.signal.aborted) throw error;
    console.error(`web: the edge API at ${target.origin} is unreachable:`, error);
    return unreachableProblem(target);
  }

  const body = NULL_BODY_STATUSES.has(upstream.status) || request.method === 'HEAD' ? null : upstream.body;
  return new Response(body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: downstreamResponseHeaders(upstream.headers),
  });
}

function unreachableProblem(target: URL): Response {
  const problem: Problem = {
    type: 'about:blank',
    title: 'Edge API unreachable',
    status: 502,
    detail: `the web server could not reach the edge API at ${target.origin}`,
  };
  return new Response(JSON.stringify(problem), { status: 502, headers: { 'content-type': 'application/problem+json' } });
}
