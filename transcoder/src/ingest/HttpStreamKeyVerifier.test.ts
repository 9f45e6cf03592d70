import { createServer, type ServerResponse } from 'node:http';
import { newId } from '@mytaek1/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StandInServer } from '../testing/StandInServer.ts';
import { HttpStreamKeyVerifier } from '@mytaek1/contracts';

// Against a stand-in for the edge API on loopback (the real endpoint is not written yet): proves
// what the transcoder sends, and that every way the answer can go wrong refuses the publish.

const SECRET = 'a-test-secret-that-is-at-least-32-characters';
const showId = newId();
const sellerId = newId();

let edge: StandInServer;

beforeAll(async () => {
  edge = await StandInServer.start();
});

afterAll(() => edge.close());

beforeEach(() => edge.reset());

function json(status: number, body: unknown) {
  return (response: ServerResponse) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
}

function verifier(options: { edgeApiUrl?: string; timeoutMs?: number } = {}) {
  return HttpStreamKeyVerifier.create({ edgeApiUrl: options.edgeApiUrl ?? edge.url, tokenSecret: SECRET, timeoutMs: options.timeoutMs ?? 2_000 });
}

describe('HttpStreamKeyVerifier', () => {
  it('POSTs the stream key with the shared secret as bearer, and returns the show it opens', async () => {
    edge.answer = json(200, { ok: true, showId, sellerId });
    expect(await verifier().verify('sk_abc')).toEqual({ ok: true, showId, sellerId });
    expect(edge.seen).toEqual([
      { method: 'POST', url: '/v1/internal/ingest/verify', authorization: `Bearer ${SECRET}`, contentType: 'application/json', body: JSON.stringify({ streamKey: 'sk_abc' }) },
    ]);
  });

  it('keeps a path prefix of the edge API URL', async () => {
    edge.answer = json(200, { ok: true, showId, sellerId });
    await verifier({ edgeApiUrl: `${edge.url}/api/` }).verify('sk_abc');
    expect(edge.seen[0]?.url).toBe('/api/v1/internal/ingest/verify');
  });

  it("passes on the edge API's refusal", async () => {
    edge.answer = json(200, { ok: false, reason: 'show_ended' });
    expect(await verifier().verify('sk_abc')).toEqual({ ok: false, reason: 'show_ended' });
  });

  it.each([
    ['an error status', json(500, { ok: true, showId, sellerId }), 'verifier_http_500'],
    ['rejected credentials', json(401, { title: 'unauthorized' }), 'verifier_http_401'],
    ['a body that is not JSON', (response: ServerResponse) => response.end('<html>'), 'verifier_bad_response'],
    ['a show id that is not an id', json(200, { ok: true, showId: '../../etc', sellerId }), 'verifier_bad_response'],
    ['an answer of the wrong shape', json(200, { allowed: true }), 'verifier_bad_response'],
    ['a redirect', (response: ServerResponse) => response.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(), 'verifier_unavailable'],
  ])('refuses on %s', async (_what, reply, reason) => {
    edge.answer = reply;
    expect(await verifier().verify('sk_abc')).toEqual({ ok: false, reason });
  });

  it('refuses when the edge API does not answer in time', async () => {
    edge.answer = () => {}; // never responds
    const started = Date.now();
    expect(await verifier({ timeoutMs: 300 }).verify('sk_abc')).toEqual({ ok: false, reason: 'verifier_unavailable' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses when the edge API is unreachable', async () => {
    const unreachable = createServer();
    await new Promise<void>((resolve) => unreachable.listen(0, '127.0.0.1', resolve));
    const address = unreachable.address();
    await new Promise((resolve) => unreachable.close(resolve));
    const port = typeof address === 'object' && address ? address.port : 0;
    expect(await verifier({ edgeApiUrl: `http://127.0.0.1:${port}` }).verify('sk_abc')).toEqual({ ok: false, reason: 'verifier_unavailable' });
  });
});
