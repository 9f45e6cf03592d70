import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleLogger } from '../logger.ts';
import { HttpServer } from './HttpServer.ts';

const SHOW = '01a20e69-a977-7b95-adf9-fb4642091f96';
const SECRET = 'not media: must never be served';
let root: string;
let mediaDir: string;
let server: HttpServer;

/** A raw request: fetch() would normalise `..` away before it ever reached the server. */
function rawGet(path: string, { method = 'GET', headers = {} }: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'transcoder-http-'));
  mediaDir = join(root, 'media');
  const live = join(mediaDir, 'live', SHOW);
  const part = join(mediaDir, 'replays', SHOW, 'part-000');
  await mkdir(live, { recursive: true });
  await mkdir(part, { recursive: true });
  await writeFile(join(root, 'secret.m3u8'), SECRET);
  await writeFile(join(live, 'index.m3u8'), '#EXTM3U\n');
  await writeFile(join(live, 'index.m3u8.tmp'), '#EXTM3U\n');
  await writeFile(join(live, 'init.mp4'), 'init');
  await writeFile(join(live, 'abc-00001.m4s'), 'segment');
  await writeFile(join(mediaDir, 'replays', SHOW, 'index.m3u8'), '#EXTM3U\n#EXT-X-ENDLIST\n');
  await writeFile(join(part, 'init.mp4'), 'init');
  await writeFile(join(part, 'seg-00000.m4s'), 'segment');
  // A link that points out of the media directory must not become a way out.
  await symlink(join(root, 'secret.m3u8'), join(live, 'escape.m3u8'));
  server = await HttpServer.create({ host: '127.0.0.1', port: 0, mediaDir, corsAllowOrigin: '*', logger: createConsoleLogger('silent'), health: () => ({ liveShows: 1 }) });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('HttpServer', () => {
  it.each([
    [`/live/${SHOW}/index.m3u8`, 'application/vnd.apple.mpegurl', 'no-cache'],
    [`/live/${SHOW}/init.mp4`, 'video/mp4', 'no-cache'],
    [`/live/${SHOW}/abc-00001.m4s`, 'video/iso.segment', 'public, max-age=31536000, immutable'],
    [`/replays/${SHOW}/index.m3u8`, 'application/vnd.apple.mpegurl', 'public, max-age=10'],
    [`/replays/${SHOW}/part-000/init.mp4`, 'video/mp4', 'public, max-age=31536000, immutable'],
    [`/replays/${SHOW}/part-000/seg-00000.m4s`, 'video/iso.segment', 'public, max-age=31536000, immutable'],
  ])('serves %s as %s with cache-control %s, readable cross-origin', async (path, contentType, cacheControl) => {
    const response = await fetch(`${server.url}${path}`, { headers: { origin: 'http://127.0.0.1:3000' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(contentType);
    expect(response.headers.get('cache-control')).toBe(cacheControl);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Number(response.headers.get('content-length'))).toBe((await response.arrayBuffer()).byteLength);
  });

  it('answers a CORS preflight', async () => {
    const response = await fetch(`${server.url}/live/${SHOW}/index.m3u8`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toContain('GET');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range');
  });

  it('revalidates with the ETag instead of sending the playlist again', async () => {
    const first = await fetch(`${server.url}/live/${SHOW}/index.m3u8`);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(`${server.url}/live/${SHOW}/index.m3u8`, { headers: { 'if-none-match': etag ?? '' } });
    expect(again.status).toBe(304);
  });

  it('answers HEAD with headers only', async () => {
    const response = await rawGet(`/live/${SHOW}/abc-00001.m4s`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String('segment'.length));
    expect(response.body).toBe('');
  });

  it.each([
    `/live/../../secret.m3u8`,
    `/live/${SHOW}/../../../secret.m3u8`,
    `/live/%2e%2e/%2e%2e/secret.m3u8`,
    `/replays/${SHOW}/..%2f..%2f..%2fsecret.m3u8`,
    `/replays/${SHOW}/part-000%2f..%2f..%2f..%2f..%2fsecret.m3u8`,
    `/live/${SHOW}/..%5c..%5csecret.m3u8`,
    `/live/${SHOW}/index.m3u8%00.mp4`,
    `/live/${SHOW}/escape.m3u8`,
  ])('refuses the traversal %s', async (path) => {
    const response = await rawGet(path);
    expect([400, 404]).toContain(response.status);
    expect(response.body).not.toContain(SECRET);
  });

  it.each([
    [`/live/${SHOW}/index.m3u8.tmp`, 404, 'FFmpeg temporary files'],
    [`/live/${SHOW}/missing.m4s`, 404, 'missing files'],
    [`/other/${SHOW}/index.m3u8`, 404, 'other areas'],
    [`/live/${SHOW}`, 404, 'directories'],
    [`/live/${SHOW}/.hidden.m3u8`, 400, 'hidden names'],
    [`/live/%E0%A4%A/index.m3u8`, 400, 'broken percent-encoding'],
  ])('does not serve %s (%s: %s)', async (path, status) => {
    expect((await rawGet(path)).status).toBe(status);
  });

  it('allows only reads', async () => {
    const response = await rawGet(`/live/${SHOW}/index.m3u8`, { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBe('GET, HEAD, OPTIONS');
  });

  it('reports health without caching', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ok', liveShows: 1 });
  });

  describe('blocking playlist reload (LL-HLS)', () => {
    const BLOCKING = '01a20e69-a977-7b95-adf9-fb4642091f97';
    const playlist = (first: number, count: number, ended = false) =>
      [
        '#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:1', `#EXT-X-MEDIA-SEQUENCE:${first}`, '#EXT-X-MAP:URI="init.mp4"',
        ...Array.from({ length: count }, (_, i) => [`#EXTINF:0.533333,`, `p-${String(first + i).padStart(5, '0')}.m4s`]).flat(),
        ...(ended ? ['#EXT-X-ENDLIST'] : []),
        '',
      ].join('\n');
    /** As FFmpeg's temp_file flag does: written aside, renamed into place. */
    const publish = async (text: string) => {
      const dir = join(mediaDir, 'live', BLOCKING);
      await writeFile(join(dir, 'index.m3u8.tmp'), text);
      await rename(join(dir, 'index.m3u8.tmp'), join(dir, 'index.m3u8'));
    };

    beforeAll(async () => {
      await mkdir(join(mediaDir, 'live', BLOCKING), { recursive: true });
      await publish(playlist(10, 3));
    });

    it('says it can block, and answers a request for a listed segment at once', async () => {
      const plain = await rawGet(`/live/${BLOCKING}/index.m3u8`);
      expect(plain.status).toBe(200);
      expect(plain.body).toMatch(/^#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES$/m);
      expect(plain.headers['cache-control']).toBe('no-cache');
      const listed = await rawGet(`/live/${BLOCKING}/index.m3u8?_HLS_msn=12`);
      expect(listed.status).toBe(200);
      expect(listed.body).toContain('p-00012.m4s');
    });

    it('holds a request for the next segment until the playlist lists it', async () => {
      let answered = false;
      const waiting = rawGet(`/live/${BLOCKING}/index.m3u8?_HLS_msn=13`).then((response) => {
        answered = true;
        return response;
      });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(answered).toBe(false);
      await publish(playlist(11, 3));
      const response = await waiting;
      expect(response.status).toBe(200);
      expect(response.body).toContain('p-00013.m4s');
    });

    it('refuses a segment more than two ahead, a bad number and a show without a playlist', async () => {
      expect((await rawGet(`/live/${BLOCKING}/index.m3u8?_HLS_msn=99`)).status).toBe(400);
      expect((await rawGet(`/live/${BLOCKING}/index.m3u8?_HLS_msn=-1`)).status).toBe(400);
      expect((await rawGet(`/live/01a20e69-a977-7b95-adf9-fb4642091f98/index.m3u8?_HLS_msn=1`)).status).toBe(404);
    });

    it('answers at once when the playlist ended, without the server control tag', async () => {
      await publish(playlist(12, 3, true));
      const response = await rawGet(`/live/${BLOCKING}/index.m3u8?_HLS_msn=16`);
      expect(response.status).toBe(200);
      expect(response.body).toMatch(/#EXT-X-ENDLIST\s*$/);
      expect(response.body).not.toContain('EXT-X-SERVER-CONTROL');
    });
  });
});
