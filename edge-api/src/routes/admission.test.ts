import { AdmissionGrant, Show, verifyToken } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../testing/backends.ts';
import { createTestApp, jsonRequest, signUpAs, TEST_SECRET, type TestApp } from '../testing/test-app.ts';

describe.each(BACKENDS)('on %s', (backend) => {
  let t: TestApp;
  let seller: Awaited<ReturnType<typeof signUpAs>>;
  let shopper: Awaited<ReturnType<typeof signUpAs>>;
  let show: Show;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    [seller, shopper] = await Promise.all([signUpAs(t.app, 'seller', 'Studio Nine'), signUpAs(t.app, 'shopper', 'Jun')]);
    const response = await t.app.request('/v1/shows', jsonRequest('POST', { title: 'Drop', scheduledAt: new Date().toISOString() }, seller.headers));
    show = Show.parse(await response.json());
  });
  afterAll(() => t.close());

  async function grant(kind: 'sfu' | 'realtime', headers: Record<string, string> = {}, showId = show.id) {
    const response = await t.app.request(`/v1/shows/${showId}/${kind}-token`, { method: 'POST', headers });
    return { status: response.status, body: response.status === 200 ? AdmissionGrant.parse(await response.json()) : null };
  }

  describe('admission tokens', () => {
    it('makes the show’s seller its publisher and moderator', async () => {
      const sfu = await grant('sfu', seller.headers);
      expect(sfu.body!.role).toBe('publisher');
      const claims = await verifyToken(sfu.body!.token, TEST_SECRET, { audience: 'sfu' });
      expect(claims).toMatchObject({ ok: true, claims: { sub: seller.id, show: show.id, role: 'publisher', name: 'Studio Nine' } });
      expect((await grant('realtime', seller.headers)).body!.role).toBe('moderator');
    });

    it('makes a signed-in shopper a viewer with their name, and an anonymous visitor an anonymous viewer', async () => {
      const signedIn = await verifyToken((await grant('sfu', shopper.headers)).body!.token, TEST_SECRET, { audience: 'sfu' });
      expect(signedIn).toMatchObject({ ok: true, claims: { sub: shopper.id, role: 'viewer', name: 'Jun' } });
      const anonymous = await verifyToken((await grant('realtime')).body!.token, TEST_SECRET, { audience: 'realtime' });
      expect(anonymous.ok && anonymous.claims.sub.startsWith('anon:') && anonymous.claims.role).toBe('viewer');
    });

    it('signs for one audience: an SFU token does not open the realtime room', async () => {
      const { body } = await grant('sfu', shopper.headers);
      expect(await verifyToken(body!.token, TEST_SECRET, { audience: 'realtime' })).toEqual({ ok: false, reason: 'wrong_audience' });
    });

    it('expires soon after issue', async () => {
      const { body } = await grant('sfu', shopper.headers);
      const expiresAt = Date.parse(body!.expiresAt);
      expect(expiresAt - Date.now()).toBeLessThanOrEqual(120_000);
      expect(await verifyToken(body!.token, TEST_SECRET, { audience: 'sfu', now: expiresAt + 1 })).toEqual({ ok: false, reason: 'expired' });
    });

    it('refuses unknown and ended shows', async () => {
      expect((await grant('sfu', {}, '01a20e5d-7bd1-7c4d-83b0-cef9f660b7f1')).status).toBe(404);
      await t.app.request(`/v1/shows/${show.id}/live`, { method: 'POST', headers: seller.headers });
      await t.app.request(`/v1/shows/${show.id}/end`, { method: 'POST', headers: seller.headers });
      expect((await grant('sfu', seller.headers)).status).toBe(409);
    });
  });
});
