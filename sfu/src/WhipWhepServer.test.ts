import './testing/workerBin.ts';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { INGEST_VERIFY_PATH, newId, type IngestVerifyResponse } from '@mytaek1/contracts';
import { parse } from 'sdp-transform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { TEST_TOKEN_SECRET, tokenFor } from './testing/tokens.ts';

/**
 * WHIP and WHEP over HTTP, with real clients' offers (see testing/offers) and a stand-in for the edge
 * API's stream key check: everything but the media, which the *.media.test.ts files prove in Chromium.
 */

const offer = (name: string) => readFileSync(new URL(`./testing/offers/${name}.sdp`, import.meta.url), 'utf8');
const STREAM_KEY = 'sk_live_test_0123456789';

describe('WHIP and WHEP', () => {
  let sfu: TestSfu;
  let edgeApi: Server;
  let edgeApiUrl: string;
  /** What the stand-in edge API answers, and what it was asked. */
  let verdict: (streamKey: string) => { status: number; body?: IngestVerifyResponse };
  const asked: { authorization: string | undefined; body: unknown }[] = [];
  const resources: { url: string; token: string }[] = [];

  beforeAll(async () => {
    edgeApi = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        if (request.url !== INGEST_VERIFY_PATH || request.method !== 'POST') {
          response.writeHead(404).end();
          return;
        }
        const parsed = JSON.parse(body) as { streamKey: string };
        asked.push({ authorization: request.headers.authorization, body: parsed });
        const { status, body: answer } = verdict(parsed.streamKey);
        response.writeHead(status, { 'content-type': 'application/json' }).end(answer ? JSON.stringify(answer) : '');
      });
    });
    await new Promise<void>((resolve) => edgeApi.listen(0, '127.0.0.1', resolve));
    const address = edgeApi.address();
    edgeApiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    sfu = await startSfu({ workers: 2, edgeApiUrl, emptyRoomGraceMs: 500 });
  });

  afterEach(async () => {
    // End every session a test left, as a client would.
    await Promise.all(resources.splice(0).map(({ url, token }) => fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })));
    asked.length = 0;
  });

  afterAll(async () => {
    await sfu?.close();
    edgeApi?.closeAllConnections();
    await new Promise((resolve) => edgeApi?.close(resolve));
  });

  async function post(kind: 'whip' | 'whep', show: string, body: string, token: string | undefined, contentType = 'application/sdp'): Promise<Response> {
    const response = await fetch(`${sfu.server.url}/${kind}/${show}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    const location = response.headers.get('location');
    if (response.status === 201 && location && token) resources.push({ url: new URL(location, sfu.server.url).href, token });
    return response;
  }

  async function publish(show: string, name = 'chrome-156-whip-sendonly'): Promise<{ response: Response; token: string; resource: string }> {
    const token = await tokenFor(show, 'publisher');
    const response = await post('whip', show, offer(name), token);
    expect(response.status, await response.clone().text()).toBe(201);
    return { response, token, resource: new URL(response.headers.get('location')!, sfu.server.url).href };
  }

  describe('WHIP', () => {
    it('publishes with a publisher token: 201, the SDP answer, a Location and an ETag; the show gets a producer per m-line', async () => {
      const show = newId();
      const { response, resource } = await publish(show);
      expect(response.headers.get('content-type')).toBe('application/sdp');
      expect(resource).toMatch(new RegExp(`/whip/${show}/[0-9a-f-]{36}$`));
      expect(response.headers.get('etag')).toMatch(/^".+"$/);
      expect(response.headers.get('access-control-expose-headers')).toContain('Location');

      const answer = parse(await response.text());
      expect(answer.icelite).toBe('ice-lite');
      expect(answer.media.map((m) => [m.type, m.direction, m.setup, String(m.payloads)])).toEqual([
        ['audio', 'recvonly', 'passive', '111'],
        ['video', 'recvonly', 'passive', '96 97'],
      ]);
      for (const m of answer.media) {
        expect(m.candidates?.every((candidate) => candidate.ip === '127.0.0.1')).toBe(true);
        expect(m.endOfCandidates).toBe('end-of-candidates');
      }
      const room = sfu.server.rooms.get(show)!;
      expect(room.producers.map((producer) => [producer.kind, producer.rtpParameters.codecs[0]?.mimeType])).toEqual([
        ['audio', 'audio/opus'],
        ['video', 'video/VP8'],
      ]);
      expect(sfu.server.whipWhep.sessions.size).toBe(1);
    });

    it('publishes with a stream key the edge API says opens this show, asking with the shared secret', async () => {
      const show = newId();
      const sellerId = newId();
      verdict = (streamKey) => (streamKey === STREAM_KEY ? { status: 200, body: { ok: true, showId: show, sellerId } } : { status: 200, body: { ok: false, reason: 'unknown_key' } });
      const response = await post('whip', show, offer('obs-style-whip-h264'), STREAM_KEY);
      expect(response.status, await response.clone().text()).toBe(201);
      expect(asked).toEqual([{ authorization: `Bearer ${TEST_TOKEN_SECRET}`, body: { streamKey: STREAM_KEY } }]);
      const answer = parse(await response.text());
      expect(answer.media.map((m) => answerCodecs(m))).toEqual([['111 opus/48000/2'], ['96 H264/90000']]);
      const room = sfu.server.rooms.get(show)!;
      expect(room.producers.map((producer) => producer.rtpParameters.codecs[0]?.mimeType)).toEqual(['audio/opus', 'video/H264']);
      expect(room.producers.every((producer) => room.producersOf(producer.appData['peerId'] as string).length === 2)).toBe(true);
    });

    it.each([
      ['no bearer at all', async () => undefined, 401],
      ['a viewer token', async (show: string) => tokenFor(show, 'viewer'), 403],
      ['a publisher token for another show', async () => tokenFor(newId(), 'publisher'), 403],
      ['a forged token', async (show: string) => tokenFor(show, 'publisher', { secret: `${TEST_TOKEN_SECRET}-forged` }), 401],
      ['an expired token', async (show: string) => tokenFor(show, 'publisher', { now: Date.now() - 3_600_000, ttlSeconds: 60 }), 401],
      ['an unknown stream key', async () => 'sk_unknown', 401],
      ['a stream key of another show', async () => STREAM_KEY, 403],
      ['a stream key with no scheduled show', async () => 'sk_no_show', 403],
      ['a stream key while the edge API is failing', async () => 'sk_edge_down', 503],
    ])('refuses %s, creating nothing', async (_name, bearer, status) => {
      const show = newId();
      verdict = (streamKey) => {
        if (streamKey === STREAM_KEY) return { status: 200, body: { ok: true, showId: newId(), sellerId: newId() } };
        if (streamKey === 'sk_no_show') return { status: 200, body: { ok: false, reason: 'no_scheduled_show' } };
        if (streamKey === 'sk_edge_down') return { status: 500 };
        return { status: 200, body: { ok: false, reason: 'unknown_key' } };
      };
      const response = await post('whip', show, offer('chrome-156-whip-sendonly'), await bearer(show));
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(sfu.server.rooms.get(show)).toBeUndefined();
    });

    it.each([
      ['an offer that is not SDP', 'hello', 'application/sdp', 400],
      ['an offer as JSON', '{}', 'application/json', 415],
      ['an offer without BUNDLE', offer('chrome-156-whip-sendonly').replace('a=group:BUNDLE 0 1', ''), 'application/sdp', 400],
      ['an offer in codecs the show does not route', offer('obs-style-whip-h264').replace('opus/48000/2', 'G722/8000').replace('H264/90000', 'AV1/90000'), 'application/sdp', 406],
    ])('refuses %s', async (_name, body, contentType, status) => {
      const show = newId();
      const response = await post('whip', show, body, await tokenFor(show, 'publisher'), contentType);
      expect(response.status).toBe(status);
      expect(sfu.server.rooms.get(show)?.producers ?? []).toEqual([]);
    });

    it('ends the session on DELETE with the same bearer only, and the producers with it', async () => {
      const show = newId();
      const { resource, token } = await publish(show);
      const room = sfu.server.rooms.get(show)!;
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${await tokenFor(show, 'publisher')}` } })).status).toBe(401);
      expect((await fetch(resource, { method: 'DELETE' })).status).toBe(401);
      expect(room.producers).toHaveLength(2);
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect(room.producers).toEqual([]);
      expect(sfu.server.whipWhep.sessions.size).toBe(0);
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    });

    it('still answers 200 to the DELETE of a session that ended by itself (the client closed its connection first)', async () => {
      const show = newId();
      const { resource, token } = await publish(show);
      const [session] = sfu.server.whipWhep.sessions.values();
      session!.close();
      expect(sfu.server.whipWhep.sessions.size).toBe(0);
      expect((await fetch(resource, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/trickle-ice-sdpfrag' }, body: '' })).status).toBe(404);
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${await tokenFor(show, 'publisher')}` } })).status).toBe(401);
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    });

    it('acknowledges trickled candidates, refuses a stale ETag, and restarts ICE with new credentials', async () => {
      const show = newId();
      const { response, resource, token } = await publish(show);
      const etag = response.headers.get('etag')!;
      const patch = (body: string, headers: Record<string, string>) =>
        fetch(resource, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/trickle-ice-sdpfrag', ...headers }, body });
      const trickle = 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\n';
      expect((await patch(trickle, { 'if-match': etag })).status).toBe(204);
      expect((await patch(trickle, {})).status).toBe(204);
      expect((await patch(trickle, { 'if-match': '"stale"' })).status).toBe(412);
      expect((await fetch(resource, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' }, body: trickle })).status).toBe(415);

      const restart = await patch('a=ice-ufrag:wxyz\r\na=ice-pwd:zyxwvutsrqponmlkjihgfedc\r\n', { 'if-match': '*' });
      expect(restart.status).toBe(200);
      expect(restart.headers.get('content-type')).toBe('application/trickle-ice-sdpfrag');
      const newEtag = restart.headers.get('etag')!;
      expect(newEtag).not.toBe(etag);
      const fragment = await restart.text();
      expect(fragment).toContain(`a=ice-ufrag:${newEtag.replaceAll('"', '')}`);
      expect(fragment).toMatch(/^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m);
      expect((await patch(trickle, { 'if-match': etag })).status).toBe(412);
    });

    it('lets a new WHIP session of the show replace the previous one (an encoder reconnecting)', async () => {
      const show = newId();
      await publish(show);
      const room = sfu.server.rooms.get(show)!;
      const first = room.producers.map((producer) => producer.id);
      await publish(show, 'obs-style-whip-h264');
      expect(room.producers).toHaveLength(2);
      expect(room.producers.some((producer) => first.includes(producer.id))).toBe(false);
      expect(sfu.server.whipWhep.sessions.size).toBe(1);
    });

    it('answers CORS preflights for players on other origins', async () => {
      const show = newId();
      const endpoint = await fetch(`${sfu.server.url}/whip/${show}`, { method: 'OPTIONS', headers: { origin: 'https://player.example', 'access-control-request-method': 'POST' } });
      expect(endpoint.status).toBe(204);
      expect(endpoint.headers.get('access-control-allow-origin')).toBe('*');
      expect(endpoint.headers.get('access-control-allow-headers')).toContain('Authorization');
      expect(endpoint.headers.get('accept-post')).toBe('application/sdp');
      const resource = await fetch(`${sfu.server.url}/whep/${show}/${newId()}`, { method: 'OPTIONS' });
      expect(resource.headers.get('access-control-allow-methods')).toBe('PATCH, DELETE, OPTIONS');
      expect((await fetch(`${sfu.server.url}/whip/${show}`)).status).toBe(405);
    });
  });

  describe('WHEP', () => {
    it('says 404 while the show has no media, and 401 without a token', async () => {
      const show = newId();
      expect((await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'))).status).toBe(404);
      expect((await post('whep', show, offer('chrome-156-whep-recvonly'), undefined)).status).toBe(401);
      expect((await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(newId(), 'viewer'))).status).toBe(403);
    });

    it('answers a viewer with consumers that send the payload types it offered, from a router of its own profile', async () => {
      const show = newId();
      await publish(show);
      const response = await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'));
      expect(response.status, await response.clone().text()).toBe(201);
      expect(response.headers.get('location')).toMatch(new RegExp(`^/whep/${show}/`));
      const answer = parse(await response.text());
      const [audio, video] = answer.media;
      // Chromium's own payload types (Opus 111, VP8 96), not the router's (100, 101).
      expect(answerCodecs(audio!)).toEqual(['111 opus/48000/2']);
      expect(answerCodecs(video!)).toEqual(['96 VP8/90000']);
      expect(video!.rtcpFb?.map((fb) => `${fb.type}${fb.subtype ? ` ${fb.subtype}` : ''}`)).toContain('nack');
      for (const m of [audio!, video!]) {
        expect(m.direction).toBe('sendonly');
        expect(m.ssrcs?.some((line) => line.attribute === 'cname')).toBe(true);
        expect(m.msid?.[0]?.id).toBe(show);
      }
      const room = sfu.server.rooms.get(show)!;
      const edge = room.routers.find((router) => router.role === 'edge');
      expect(edge?.profile).toMatch(/^whep:/);
      // A second viewer of the same browser shares that router.
      const second = await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'));
      expect(second.status).toBe(201);
      expect(room.routers.filter((router) => router.role === 'edge')).toHaveLength(1);
      expect(sfu.server.whipWhep.sessions.size).toBe(3);
    });

    it('serves H.264 to a viewer when the publisher sends H.264', async () => {
      const show = newId();
      await publish(show, 'obs-style-whip-h264');
      const response = await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'));
      expect(response.status).toBe(201);
      const video = parse(await response.text()).media[1]!;
      // Chromium offered constrained baseline packetization-mode 1 as 108.
      expect(answerCodecs(video)).toEqual(['108 H264/90000']);
      expect(video.fmtp?.[0]?.config).toContain('profile-level-id=42e01f');
    });

    it('ends a viewer’s session once the publisher it watched has gone (WHEP cannot renegotiate)', async () => {
      const show = newId();
      const { resource, token } = await publish(show);
      expect((await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'))).status).toBe(201);
      expect(sfu.server.whipWhep.sessions.size).toBe(2);
      expect((await fetch(resource, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      // The worker tells of the consumers' producers closing a moment later.
      await expect.poll(() => sfu.server.whipWhep.sessions.size, { timeout: 2_000 }).toBe(0);
    });

    it('ends a viewer’s session when the show ends', async () => {
      const show = newId();
      const { token } = await publish(show);
      expect((await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'))).status).toBe(201);
      expect(sfu.server.whipWhep.sessions.size).toBe(2);
      expect((await fetch(`${sfu.server.url}/shows/${show}/end`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(204);
      expect(sfu.server.whipWhep.sessions.size).toBe(0);
      expect((await post('whep', show, offer('chrome-156-whep-recvonly'), await tokenFor(show, 'viewer'))).status).toBe(410);
      expect((await post('whip', show, offer('chrome-156-whip-sendonly'), token)).status).toBe(410);
    });
  });
});

function answerCodecs(media: { rtp: { payload: number; codec: string; rate?: number; encoding?: number }[] }): string[] {
  return media.rtp.map((rtp) => `${rtp.payload} ${rtp.codec}/${rtp.rate}${rtp.encoding ? `/${rtp.encoding}` : ''}`);
}
