import { createHash, createHmac } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { closeServer, errorMessage, HttpRequestError, listen, secretsEqual, trackSockets, urlHost } from './http.ts';

export interface S3LocalServerOptions {
  /** Where objects are kept: `<dir>/<bucket>/<key>`, and their headers under `<dir>/.meta/`. */
  dir: string;
  /** The buckets that exist; anything else is NoSuchBucket. */
  buckets: readonly string[];
  /** The one key pair whose SigV4 signatures are accepted for writes. */
  accessKeyId: string;
  secretAccessKey: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

/** Objects larger than this are refused (replay segments are a few megabytes). */
const MAX_OBJECT_BYTES = 256 * 1024 * 1024;
/** How far a signed request's X-Amz-Date may be from this server's clock, as S3 allows. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Headers S3 stores with an object and answers on reads. */
const STORED_HEADERS = ['content-type', 'cache-control', 'content-disposition', 'content-encoding'] as const;

interface StoredMeta {
  headers: Partial<Record<(typeof STORED_HEADERS)[number], string>>;
  etag: string;
}

/**
 * The few S3 operations a media service uses, over a local directory, for tests and self-hosting
 * without MinIO: PutObject, DeleteObject (both authenticated with AWS Signature Version 4 in the
 * Authorization header, checked as S3 checks it, payload hash included), and anonymous GetObject and
 * HeadObject (a public bucket, as a CDN in front of R2 or S3 would serve it, with CORS for players).
 * Path-style addressing: `/<bucket>/<key>`. Errors are S3's XML error documents.
 */
export class S3LocalServer {
  readonly #options: Required<S3LocalServerOptions>;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  #port = 0;

  private constructor(options: S3LocalServerOptions) {
    this.#options = { host: '127.0.0.1', port: 0, ...options };
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        const status = error instanceof HttpRequestError ? error.status : 500;
        const code = error instanceof S3Error ? error.code : status === 500 ? 'InternalError' : 'InvalidRequest';
        sendError(response, status, code, errorMessage(error));
      });
    });
    this.#sockets = trackSockets(this.#server);
  }

  static async start(options: S3LocalServerOptions): Promise<S3LocalServer> {
    const server = new S3LocalServer(options);
    await mkdir(options.dir, { recursive: true });
    server.#port = await listen(server.#server, server.#options.host, server.#options.port);
    return server;
  }

  /** The endpoint to give an S3 client (path-style), e.g. http://127.0.0.1:41234. */
  get url(): string {
    return `http://${urlHost(this.#options.host)}:${this.#port}`;
  }

  close(): Promise<void> {
    return closeServer(this.#server, this.#sockets);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.setHeader('access-control-allow-origin', '*');
    response.setHeader('access-control-expose-headers', 'ETag, Content-Length');
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') {
      response.writeHead(204, { 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'Range, If-None-Match', 'access-control-max-age': '86400' }).end();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://s3.invalid');
    const [bucket, key] = splitPath(url.pathname);
    if (!bucket || !this.#options.buckets.includes(bucket)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (!key) throw new S3Error(400, 'InvalidRequest', 'Only object operations are supported (a key is missing)');
    const path = join(this.#options.dir, bucket, ...key.split('/'));
    const metaPath = join(this.#options.dir, '.meta', bucket, ...key.split('/')) + '.json';
    switch (method) {
      case 'GET':
      case 'HEAD':
        return this.#get(request, response, path, metaPath);
      case 'PUT': {
        const body = await readBody(request);
        this.#verifySignature(request, url, body);
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        const headers: StoredMeta['headers'] = {};
        for (const name of STORED_HEADERS) {
          const value = request.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        await mkdir(dirname(path), { recursive: true });
        await mkdir(dirname(metaPath), { recursive: true });
        // Readers see the old object or the new one, never a part of one.
        await writeFile(`${path}.${process.pid}.upload`, body);
        await rename(`${path}.${process.pid}.upload`, path);
        await writeFile(metaPath, JSON.stringify({ headers, etag } satisfies StoredMeta));
        response.writeHead(200, { etag, 'content-length': '0' }).end();
        return;
      }
      case 'DELETE':
        this.#verifySignature(request, url, await readBody(request));
        await rm(path, { force: true });
        await rm(metaPath, { force: true });
        response.writeHead(204).end();
        return;
      default:
        throw new S3Error(405, 'MethodNotAllowed', `${method} is not supported here`);
    }
  }

  async #get(request: IncomingMessage, response: ServerResponse, path: string, metaPath: string): Promise<void> {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    const meta = JSON.parse(await readFile(metaPath, 'utf8').catch(() => '{"headers":{},"etag":""}')) as StoredMeta;
    const headers = { 'content-type': 'binary/octet-stream', ...meta.headers, etag: meta.etag, 'last-modified': info.mtime.toUTCString() };
    if (meta.etag && request.headers['if-none-match'] === meta.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    response.writeHead(200, { ...headers, 'content-length': String(info.size) });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    await pipeline(createReadStream(path), response);
  }

  /** AWS Signature Version 4 in the Authorization header, as S3 checks it (payload hash included). */
  #verifySignature(request: IncomingMessage, url: URL, body: Buffer): void {
    const authorization = request.headers.authorization ?? '';
    const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
    if (!match) throw new S3Error(403, 'AccessDenied', 'Requests that write must be signed with AWS Signature Version 4');
    const [, accessKeyId = '', date = '', region = '', signedHeaderList = '', signature = ''] = match;
    if (!secretsEqual(accessKeyId, this.#options.accessKeyId)) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS access key Id you provided does not exist in our records.');
    const amzDate = header(request, 'x-amz-date');
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!amzDate.startsWith(date) || !Number.isFinite(signedAt) || Math.abs(Date.now() - signedAt) > MAX_CLOCK_SKEW_MS) {
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }
    const payloadHash = header(request, 'x-amz-content-sha256');
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256Hex(body)) throw new S3Error(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
    const signedHeaders = signedHeaderList.split(';');
    if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) throw new S3Error(403, 'AccessDenied', 'host and x-amz-date must be signed');
    const canonicalRequest = [
      request.method ?? 'GET',
      url.pathname,
      canonicalQuery(url.searchParams),
      ...signedHeaders.map((name) => `${name}:${header(request, name).trim().replace(/\s+/g, ' ')}`),
      '',
      signedHeaderList,
      payloadHash,
    ].join('\n');
    const scope = `${date}/${region}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(Buffer.from(canonicalRequest))].join('\n');
    let key: Buffer = hmac(`AWS4${this.#options.secretAccessKey}`, date);
    for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
    const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
    if (!secretsEqual(signature, expected)) throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
}

class S3Error extends HttpRequestError {
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(status, message);
    this.code = code;
  }
}

/** `[bucket, key]` from a path-style request path; refuses keys that would leave the bucket's directory. */
function splitPath(pathname: string): [string | undefined, string | undefined] {
  const [bucket, ...rest] = pathname.slice(1).split('/');
  if (rest.length === 0 || rest.join('') === '') return [bucket, undefined];
  let segments: string[];
  try {
    segments = rest.map((segment) => decodeURIComponent(segment));
  } catch {
    throw new S3Error(400, 'InvalidURI', 'Could not parse the specified URI.');
  }
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\0') || segment.startsWith('.'))) {
    throw new S3Error(400, 'InvalidURI', 'This endpoint refuses empty, dot and dot-dot key segments.');
  }
  return [bucket, segments.join('/')];
}

function header(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

function canonicalQuery(params: URLSearchParams): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return [...params].map(([key, value]) => [encode(key), encode(value)]).sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1)).map(([key, value]) => `${key}=${value}`).join('&');
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_OBJECT_BYTES) throw new S3Error(400, 'EntityTooLarge', `objects are limited to ${MAX_OBJECT_BYTES} bytes here`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  const escape = (text: string) => text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c] ?? c);
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message></Error>`;
  response.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
}
