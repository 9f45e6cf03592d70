/** The transcoder's default HTTP port (DESIGN.md): live HLS and replays. */
export const DEFAULT_TRANSCODER_HTTP_PORT = 8080;

/**
 * Where the browser reaches the transcoder's HLS, as an `http(s)://host:port` origin (or a URL with a
 * path prefix, behind a CDN): `configured` (TRANSCODER_PUBLIC_URL) when set, else the page's own host
 * name on the transcoder's default port. Server-side only: a load function passes it to the page.
 */
export function transcoderPublicUrl(configured: string | undefined, pageUrl: URL): string {
  if (configured?.trim()) {
    const url = new URL(configured.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`TRANSCODER_PUBLIC_URL must be an http(s) URL, got ${JSON.stringify(configured)}`);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  }
  // `hostname` keeps an IPv6 address's brackets.
  return `${pageUrl.protocol === 'https:' ? 'https:' : 'http:'}//${pageUrl.hostname}:${DEFAULT_TRANSCODER_HTTP_PORT}`;
}

/** The live HLS playlist of a show on the transcoder. */
export function liveHlsUrl(transcoderUrl: string, showId: string): string {
  return `${transcoderUrl}/live/${encodeURIComponent(showId)}/index.m3u8`;
}
