/** The sfu's default port (DESIGN.md): WebSocket signaling, WHIP, WHEP and stats. */
export const DEFAULT_SFU_PORT = 4443;

/**
 * Where the browser reaches the sfu's signaling, as a `ws(s)://host:port` origin: `configured`
 * (SFU_PUBLIC_URL) when set, else the page's own host name on the sfu's default port, `wss` on an
 * https page. Server-side only: a load function passes the result to the page.
 */
export function sfuPublicUrl(configured: string | undefined, pageUrl: URL): string {
  if (configured?.trim()) {
    const url = new URL(configured.trim());
    if (url.protocol === 'http:') url.protocol = 'ws:';
    if (url.protocol === 'https:') url.protocol = 'wss:';
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`SFU_PUBLIC_URL must be a ws(s) or http(s) URL, got ${JSON.stringify(configured)}`);
    return url.origin;
  }
  const protocol = pageUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  // `hostname` keeps an IPv6 address's brackets.
  return `${protocol}//${pageUrl.hostname}:${DEFAULT_SFU_PORT}`;
}
