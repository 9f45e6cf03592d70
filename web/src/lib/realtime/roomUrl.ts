/**
 * Where the browser opens a show's realtime room: a `ws(s)://host[:port]` origin (the room's path,
 * `roomPath(showId)`, is appended by RoomConnection). The room lives on the edge API, not on this
 * site: SvelteKit's server does not carry WebSocket upgrades, and the room admits by the token in
 * its `hello`, not by cookies, so a socket to another origin needs no proxy.
 *
 * - `configured` (REALTIME_PUBLIC_URL) when set: the edge API as browsers reach it.
 * - else, when EDGE_API_URL names this machine (127.0.0.1, localhost, ::1, or 0.0.0.0 as `npm start`
 *   with MYTAEK1_HOST=0.0.0.0 spells it): the page's own host name
 *   on the edge API's port, so a phone on the same network that opened the site by the laptop's
 *   address reaches the laptop's edge API, not its own loopback.
 * - else EDGE_API_URL itself: an edge API that this server reaches by a public name.
 *
 * `wss` on an https page in the derived cases: a secure page may not open a plain socket.
 * Server-side only: a load function passes the result to the page.
 */
export function realtimePublicUrl(configured: string | undefined, edgeApiUrl: string, pageUrl: URL): string {
  if (configured?.trim()) return wsOrigin(configured.trim(), 'REALTIME_PUBLIC_URL');
  const edge = new URL(edgeApiUrl);
  const secure = pageUrl.protocol === 'https:' || edge.protocol === 'https:';
  if (!isThisMachine(edge.hostname)) return wsOrigin(edge.href, 'EDGE_API_URL');
  const port = edge.port || (edge.protocol === 'https:' ? '443' : '80');
  // `hostname` keeps an IPv6 address's brackets.
  return `${secure ? 'wss:' : 'ws:'}//${pageUrl.hostname}:${port}`;
}

function wsOrigin(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute ws(s) or http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`${name} must be a ws(s) or http(s) URL, got ${JSON.stringify(value)}`);
  // A path prefix (an API mounted under /edge behind a gateway) is kept; the room's path goes after it.
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function isThisMachine(hostname: string): boolean {
  return ['localhost', '[::1]', '0.0.0.0', '[::]'].includes(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}
