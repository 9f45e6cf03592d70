import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Problem } from '@mytaek1/contracts';
import { freePort } from '@mytaek1/test-support';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { downstreamResponseHeaders, edgeApiTarget, proxyToEdgeApi, upstreamRequestHeaders } from './proxy.ts';

describe('edgeApiTarget', () => {
  const edge = 'http://127.0.0.1:8787';

  it('maps /api and everything under it onto the edge API, keeping the query', () => {
    expect(edgeApiTarget(new URL('http://web.test/api/v1/shows?status=live'), edge)?.href).toBe('http://127.0.0.1:8787/v1/shows?status=live');
    expect(edgeApiTarget(new URL('http://web.test/api'), edge)?.href).toBe('http://127.0.0.1:8787/');
  });

  it('leaves other paths, including look-alikes, to the app', () => {
    expect(edgeApiTarget(new URL('http://web.test/'), edge)).toBeNull();
    expect(edgeApiTarget(new URL('http://web.test/apiary'), edge)).toBeNull();
    expect(edgeApiTarget(new URL('http://web.test/shows/api'), edge)).toBeNull();
  });

  it('keeps a path prefix of EDGE_API_URL, with or without a trailing slash', () => {
    expect(edgeApiTarget(new URL('http://web.test/api/v1/shows'), 'https://gw.test/edge/')?.href).toBe('https://gw.test/edge/v1/shows');
  });
});

describe('upstreamRequestHeaders', () => {
  const url = new URL('https://shop.test/api/v1/auth/me');

  it('passes cookies and authorization on, drops hop-by-hop headers and those the Connection header names', () => {
    const incoming = new Headers({
      cookie: 'session=abc; theme=dark',
      authorization: 'Bearer t',
      connection: 'keep-alive, x-hop-secret',
      'keep-alive': 'timeout=5',
      'x-hop-secret': '1',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      host: 'shop.test',
      'accept-encoding': 'gzip, br, zstd',
      accept: 'application/json',
    });
    const headers = upstreamRequestHeaders(incoming, { clientAddress: '198.51.100.7', url });
    expect(Object.fromEntries(headers)).toEqual({
      cookie: 'session=abc; theme=dark',
      authorization: 'Bearer t',
      accept: 'application/json',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-host': 'shop.test',
      'x-forwarded-proto': 'https',
    });
  });

  it('appends the client to an existing X-Forwarded-For chain', () => {
    const headers = upstreamRequestHeaders(new Headers({ 'x-forwarded-for': '203.0.113.9' }), { clientAddress: '198.51.100.7', url });
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.9, 198.51.100.7');
  });
});

describe('downstreamResponseHeaders', () => {
  it('keeps each Set-Cookie whole and drops hop-by-hop and encoding headers', () => {
    const upstream = new Headers([
      ['content-type', 'application/json'],
      ['set-cookie', 'session=abc; Path=/; HttpOnly; SameSite=Lax; Expires=Wed, 25 Nov 2026 10:00:00 GMT'],
      ['set-cookie', 'csrf=xyz; Path=/'],
      ['connection', 'keep-alive'],
      ['keep-alive', 'timeout=5'],
      ['transfer-encoding', 'chunked'],
      ['content-encoding', 'gzip'],
      ['content-length', '42'],
      ['retry-after', '3'],
    ]);
    const headers = downstreamResponseHeaders(upstream);
    expect(headers.getSetCookie()).toEqual(['session=abc; Path=/; HttpOnly; SameSite=Lax; Expires=Wed, 25 Nov 2026 10:00:00 GMT', 'csrf=xyz; Path=/']);
    expect(new Set(headers.keys())).toEqual(new Set(['content-type', 'retry-after', 'set-cookie']));
  });
});

/** What the stand-in edge API saw of one request. */
interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('proxyToEdgeApi against a real HTTP server', () => {
  let upstream: Server;
  let upstreamUrl: string;
  const seen: SeenRequest[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
        const path = new URL(req.url ?? '/', 'http://upstream').pathname;
        if (path === '/v1/auth/login') {
          res.writeHead(201, {
            'content-type': 'application/json',
            'set-cookie': ['session=s3cr3t; Path=/; HttpOnly; SameSite=Lax', 'seen=1; Path=/'],
          });
          res.end(JSON.stringify({ ok: true }));
        } else if (path === '/compressed') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ compressed: true })));
        } else if (path === '/moved') {
          res.writeHead(302, { location: '/elsewhere' });
          res.end();
        } else if (path === '/v1/auth/logout') {
          res.writeHead(204, { 'set-cookie': 'session=; Path=/; Max-Age=0' });
          res.end();
        } else {
          res.writeHead(404, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404 }));
        }
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  const proxy = (path: string, init?: RequestInit) => {
    const request = new Request(`http://shop.test/api${path}`, init);
    return proxyToEdgeApi(request, edgeApiTarget(new URL(request.url), upstreamUrl)!, { clientAddress: '198.51.100.7' });
  };

  it('forwards method, body and cookies, and returns status and every Set-Cookie', async () => {
    const response = await proxy('/v1/auth/login?next=%2F', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'theme=dark' },
      body: JSON.stringify({ email: 'jun@example.test', password: 'pw' }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ ok: true });
    expect(response.headers.getSetCookie()).toEqual(['session=s3cr3t; Path=/; HttpOnly; SameSite=Lax', 'seen=1; Path=/']);

    const request = seen.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/v1/auth/login?next=%2F', body: '{"email":"jun@example.test","password":"pw"}' });
    expect(request.headers).toMatchObject({ cookie: 'theme=dark', 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7', 'x-forwarded-host': 'shop.test' });
  });

  it('passes error statuses through with their bodies', async () => {
    const response = await proxy('/v1/shows/unknown');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(Problem.parse(await response.json()).title).toBe('Not found');
  });

  it('hands back a compressed answer decoded, without claiming it is still compressed', async () => {
    const response = await proxy('/compressed', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.json()).toEqual({ compressed: true });
  });

  it('returns redirects to the browser instead of following them', async () => {
    const response = await proxy('/moved');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/elsewhere');
  });

  it('answers a bodiless status without a body, cookies included', async () => {
    const response = await proxy('/v1/auth/logout', { method: 'POST' });
    expect(response.status).toBe(204);
    expect(response.headers.getSetCookie()).toEqual(['session=; Path=/; Max-Age=0']);
  });

  it('answers 502 with a problem document when the edge API is down, and logs why', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const closedPort = await freePort();
      const request = new Request('http://shop.test/api/v1/shows');
      const response = await proxyToEdgeApi(request, new URL(`http://127.0.0.1:${closedPort}/v1/shows`));
      expect(response.status).toBe(502);
      expect(Problem.parse(await response.json())).toMatchObject({ status: 502, title: 'Edge API unreachable' });
      expect(logged).toHaveBeenCalledWith(`web: the edge API at http://127.0.0.1:${closedPort} is unreachable:`, expect.any(TypeError));
    } finally {
      logged.mockRestore();
    }
  });
});
