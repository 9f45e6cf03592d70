import { IngestVerifyResponse, Show, StreamKey } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../testing/backends.ts';
import { createTestApp, jsonRequest, signUpAs, TEST_SECRET, type TestApp } from '../testing/test-app.ts';

describe.each(BACKENDS)('on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ backend });
  });
  afterAll(() => t.close());

  const transcoder = { authorization: `Bearer ${TEST_SECRET}` };
  const verify = async (streamKey: string, headers: Record<string, string> = transcoder) => {
    const response = await t.app.request('/v1/internal/ingest/verify', jsonRequest('POST', { streamKey }, headers));
    return response.status === 200 ? IngestVerifyResponse.parse(await response.json()) : response.status;
  };

  describe('stream keys', () => {
    it('issues, shows, rotates and revokes a seller’s key; only the active key verifies', async () => {
      const seller = await signUpAs(t.app, 'seller');
      expect((await t.app.request('/v1/stream-key', { headers: seller.headers })).status).toBe(404);

      const first = StreamKey.parse(await (await t.app.request('/v1/stream-key/rotate', { method: 'POST', headers: seller.headers })).json());
      expect(first.streamKey).toMatch(/^live_[A-Za-z0-9_-]{32}$/);
      expect(first.rtmpUrl).toMatch(/^rtmp:\/\//);
      expect(StreamKey.parse(await (await t.app.request('/v1/stream-key', { headers: seller.headers })).json())).toEqual(first);

      const show = Show.parse(await (await t.app.request('/v1/shows', jsonRequest('POST', { title: 'OBS night', scheduledAt: new Date().toISOString() }, seller.headers))).json());
      expect(await verify(first.streamKey)).toEqual({ ok: true, showId: show.id, sellerId: seller.id });

      const second = StreamKey.parse(await (await t.app.request('/v1/stream-key/rotate', { method: 'POST', headers: seller.headers })).json());
      expect(second.streamKey).not.toBe(first.streamKey);
      expect(await verify(first.streamKey)).toEqual({ ok: false, reason: 'unknown_key' });
      expect(await verify(second.streamKey)).toMatchObject({ ok: true, showId: show.id });

      expect((await t.app.request('/v1/stream-key', { method: 'DELETE', headers: seller.headers })).status).toBe(204);
      expect(await verify(second.streamKey)).toEqual({ ok: false, reason: 'unknown_key' });
    });

    it('refuses a key whose seller has no scheduled or live show', async () => {
      const seller = await signUpAs(t.app, 'seller');
      const key = StreamKey.parse(await (await t.app.request('/v1/stream-key/rotate', { method: 'POST', headers: seller.headers })).json());
      expect(await verify(key.streamKey)).toEqual({ ok: false, reason: 'no_scheduled_show' });
    });

    it('feeds the live show before any scheduled one', async () => {
      const seller = await signUpAs(t.app, 'seller');
      const key = StreamKey.parse(await (await t.app.request('/v1/stream-key/rotate', { method: 'POST', headers: seller.headers })).json());
      const schedule = async (title: string, inMs: number) =>
        Show.parse(await (await t.app.request('/v1/shows', jsonRequest('POST', { title, scheduledAt: new Date(Date.now() + inMs).toISOString() }, seller.headers))).json());
      const soon = await schedule('soon', 60_000);
      const later = await schedule('later', 120_000);
      expect(await verify(key.streamKey)).toMatchObject({ showId: soon.id });
      await t.app.request(`/v1/shows/${later.id}/live`, { method: 'POST', headers: seller.headers });
      expect(await verify(key.streamKey)).toMatchObject({ showId: later.id });
    });

    it('keeps keys to sellers and verification to the transcoder', async () => {
      const shopper = await signUpAs(t.app, 'shopper');
      expect((await t.app.request('/v1/stream-key/rotate', { method: 'POST', headers: shopper.headers })).status).toBe(403);
      expect((await t.app.request('/v1/stream-key')).status).toBe(401);
      expect(await verify('live_anything', { authorization: 'Bearer not-the-secret' })).toBe(401);
      expect(await verify('live_anything', {})).toBe(401);
    });
  });
});
