import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../logger.ts';
import { INIT_FILE, isSafePathSegment, LIVE_AREA, PLAYLIST_FILE, REPLAYS_AREA } from '../hls/mediaLayout.ts';
import { LivePlaylistWaiter } from './LivePlaylistWaiter.ts';

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  mediaDir: string;
  corsAllowOrigin: string;
  logger: Logger;
  /** Extra fields for /healthz. */
  health?: () => Record<string, unknown>;
  /**
   * Routes outside the media areas (the sfu's notices under /internal): given the decoded path
   * segments, answers and resolves true, or resolves false to leave the request to the media routes.
   */
  routes?: (request: IncomingMessage, response: ServerResponse, segments: readonly string[]) => Promise<boolean>;
}

type MediaArea = typeof LIVE_AREA | typeof REPLAYS_AREA;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment',
};

/**
 * How long a blocking playlist request (`_HLS_msn`) waits for its segment: three target durations,
 * as the specification suggests (segments here are 1 s at most when re-encoded, a few when copied).
 */
const BLOCKING_RELOAD_TIMEOUT_MS = 3_000;
const SERVER_CONTROL = '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES';

/** Segment names are unique (per publish, per recorded part): a cached copy is never stale. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * How long a response may be reused. Live playlists change every segment and the live init
 * section keeps its name across publishes, so both are revalidated each time (ETag makes that
 * cheap). A replay playlist changes only if the show goes live again.
 */
export function cacheControlFor(area: MediaArea, fileName: string): string {
  const extension = extname(fileName);
  if (extension === '.m3u8') return area === LIVE_AREA ? 'no-cache' : 'public, max-age=10';
  if (area === LIVE_AREA && fileName === INIT_FILE) return 'no-cache';
  return IMMUTABLE;
}

export function contentTypeFor(fileName: string): string | undefined {
  return CONTENT_TYPES[extname(fileName)];
}

/**
 * Serves the HLS under MEDIA_DIR: /live/<showId>/<file> and /replays/<showId>/[<part>/]<file>,
 * plus /healthz. Only the media types above are served, so FFmpeg's temporary files never are.
 */
export class HttpServer {
  readonly #server: Server;
  readonly #options: HttpServerOptions;
  /** The media root with symlinks resolved: every served file must resolve inside it. */
  readonly #mediaRoot: string;
  readonly #playlists = LivePlaylistWaiter.create();
  #closing: Promise<void> | undefined;

  private constructor(server: Server, options: HttpServerOptions, mediaRoot: string) {
    this.#server = server;
    this.#options = options;
    this.#mediaRoot = mediaRoot;
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#options.logger.error(`HTTP ${request.method} ${request.url}: ${error instanceof Error ? error.message : String(error)}`);
        if (!response.headersSent) this.#sendText(response, 500, 'internal error');
        else response.destroy();
      });
    });
  }

  static async create(options: HttpServerOptions): Promise<HttpServer> {
    const mediaRoot = await realpath(options.mediaDir);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new HttpServer(server, options, mediaRoot);
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : this.#options.port;
  }

  get url(): string {
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `http://${host}:${this.port}`;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = once(this.#server, 'close');
      this.#playlists.close();
      this.#server.close();
      // Players keep connections alive between playlist reloads.
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.#setCorsHeaders(response);
    const method = request.method ?? 'GET';
    const segments = pathSegments(request.url ?? '/');
    if (segments !== undefined && segments[0] === 'internal' && (await this.#options.routes?.(request, response, segments))) return;
    if (method === 'OPTIONS') {
      response.writeHead(204, { 'access-control-max-age': '86400', 'content-length': '0' });
      response.end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD, OPTIONS');
      return this.#sendText(response, 405, 'method not allowed');
    }
    if (segments === undefined) return this.#sendText(response, 400, 'bad path');
    if (segments.length === 1 && segments[0] === 'healthz') {
      response.setHeader('cache-control', 'no-store');
      return this.#sendJson(response, 200, { status: 'ok', ...this.#options.health?.() });
    }
    const [area, showId, ...rest] = segments;
    if ((area !== LIVE_AREA && area !== REPLAYS_AREA) || showId === undefined || rest.length === 0 || rest.length > (area === LIVE_AREA ? 1 : 2)) {
      return this.#sendText(response, 404, 'not found');
    }
    // Refuses `..`, separators smuggled in by percent-encoding, hidden files and oddities alike.
    if (!segments.every(isSafePathSegment)) return this.#sendText(response, 400, 'bad path');
    const fileName = rest[rest.length - 1] ?? '';
    const contentType = contentTypeFor(fileName);
    if (!contentType) return this.#sendText(response, 404, 'not found');
    if (area === LIVE_AREA && fileName === PLAYLIST_FILE) {
      return this.#sendLivePlaylist(request, response, join(this.#options.mediaDir, area, showId, fileName), contentType);
    }
    await this.#sendFile(request, response, join(this.#options.mediaDir, area, showId, ...rest), {
      'content-type': contentType,
      'cache-control': cacheControlFor(area, fileName),
    });
  }

  async #sendFile(request: IncomingMessage, response: ServerResponse, path: string, headers: Record<string, string>): Promise<void> {
    // Open first, then stat the open file: a segment deleted from the live window in between is a
    // plain 404, and what is sent is exactly what was measured.
    let file: FileHandle;
    try {
      const real = await realpath(path);
      if (!real.startsWith(this.#mediaRoot + sep)) return this.#sendText(response, 404, 'not found');
      file = await open(real, 'r');
    } catch {
      return this.#sendText(response, 404, 'not found');
    }
    try {
      const stats = await file.stat();
      if (!stats.isFile()) return this.#sendText(response, 404, 'not found');
      const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
      const common = { ...headers, etag, 'last-modified': stats.mtime.toUTCString(), 'x-content-type-options': 'nosniff' };
      if (request.headers['if-none-match'] === etag) {
        response.writeHead(304, common);
        response.end();
        return;
      }
      response.writeHead(200, { ...common, 'content-length': String(stats.size) });
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      try {
        await pipeline(file.createReadStream({ autoClose: false }), response);
      } catch {
        // The player went away mid-response (it does when seeking or switching shows).
        response.destroy();
      }
    } finally {
      await file.close();
    }
  }

  /**
   * The live playlist, with blocking reload: `_HLS_msn=N` waits until segment N is listed (see
   * LivePlaylistWaiter), and every answer says the server can block (EXT-X-SERVER-CONTROL), so that
   * hls.js in low-latency mode asks for the next segment's playlist at once instead of polling.
   */
  async #sendLivePlaylist(request: IncomingMessage, response: ServerResponse, path: string, contentType: string): Promise<void> {
    const query = new URLSearchParams((request.url ?? '').split('?')[1]?.split('#')[0] ?? '');
    const msnParam = query.get('_HLS_msn');
    const real = await realpath(path).catch(() => undefined);
    if (!real?.startsWith(this.#mediaRoot + sep)) return this.#sendText(response, 404, 'not found');
    let text: string | undefined;
    if (msnParam !== null) {
      if (!/^\d{1,9}$/.test(msnParam)) return this.#sendText(response, 400, 'bad _HLS_msn');
      const waited = await this.#playlists.waitFor(real, Number(msnParam), BLOCKING_RELOAD_TIMEOUT_MS);
      if (waited.kind === 'missing') return this.#sendText(response, 404, 'not found');
      if (waited.kind === 'too_far') return this.#sendText(response, 400, '_HLS_msn is more than two segments ahead of the playlist');
      text = waited.text;
    } else {
      const file = await open(real, 'r').catch(() => undefined);
      if (!file) return this.#sendText(response, 404, 'not found');
      try {
        text = await file.readFile('utf8');
      } finally {
        await file.close();
      }
    }
    if (text === undefined) return this.#sendText(response, 404, 'not found');
    const body = withServerControl(text);
    const etag = `W/"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
    const headers = { 'content-type': contentType, 'cache-control': cacheControlFor(LIVE_AREA, PLAYLIST_FILE), etag, 'x-content-type-options': 'nosniff' };
    if (msnParam === null && request.headers['if-none-match'] === etag) {
      response.writeHead(304, headers).end();
      return;
    }
    response.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  #setCorsHeaders(response: ServerResponse): void {
    response.setHeader('access-control-allow-origin', this.#options.corsAllowOrigin);
    if (this.#options.corsAllowOrigin !== '*') response.setHeader('vary', 'Origin');
    response.setHeader('access-control-allow-methods', 'GET, HEAD, OPTIONS');
    response.setHeader('access-control-allow-headers', 'Range, If-None-Match, If-Modified-Since');
    response.setHeader('access-control-expose-headers', 'Content-Length, ETag');
  }

  #sendText(response: ServerResponse, status: number, message: string): void {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    response.end(`${message}\n`);
  }

  #sendJson(response: ServerResponse, status: number, body: Record<string, unknown>): void {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }
}

/** Adds EXT-X-SERVER-CONTROL after the target duration of a live playlist that has not ended. */
export function withServerControl(text: string): string {
  if (/^#EXT-X-ENDLIST\s*$/m.test(text) || text.includes('#EXT-X-SERVER-CONTROL')) return text;
  return text.replace(/^(#EXT-X-TARGETDURATION:.*)$/m, `$1\n${SERVER_CONTROL}`);
}

/**
 * The request path's segments, percent-decoded one by one and not normalised (so `..` stays
 * visible and is refused rather than resolved); undefined when the encoding is broken.
 */
function pathSegments(requestUrl: string): string[] | undefined {
  const path = requestUrl.split(/[?#]/, 1)[0] ?? '';
  if (!path.startsWith('/')) return undefined;
  try {
    return path.slice(1).split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
}
