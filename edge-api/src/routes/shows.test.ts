import { Show, ShowList } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../testing/backends.ts';
import { createTestApp, jsonRequest, signUpAs, type TestApp } from '../testing/test-app.ts';

describe.each(BACKENDS)('on %s', (backend) => {
  let t: TestApp;
  let seller: Awaited<ReturnType<typeof signUpAs>>;
  let otherSeller: Awaited<ReturnType<typeof signUpAs>>;
  let shopper: Awaited<ReturnType<typeof signUpAs>>;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    [seller, otherSeller, shopper] = await Promise.all([signUpAs(t.app, 'seller', 'Studio Nine'), signUpAs(t.app, 'seller'), signUpAs(t.app, 'shopper')]);
  });
  afterAll(() => t.close());

  async function schedule(title = 'Friday drop') {
    const scheduledAt = new Date(Date.now() + 3_600_000).toISOString();
    const response = await t.app.request('/v1/shows', jsonRequest('POST', { title, scheduledAt }, seller.headers));
    expect(response.status).toBe(201);
    return Show.parse(await response.json());
  }

  const post = (path: string, headers: Record<string, string>) => t.app.request(path, { method: 'POST', headers });

  describe('show lifecycle', () => {
    it('goes scheduled → live → ended, each step listed where shoppers look', async () => {
      const show = await schedule();
      expect(show).toMatchObject({ status: 'scheduled', sellerName: 'Studio Nine', startedAt: null });
      let list = ShowList.parse(await (await t.app.request('/v1/shows')).json());
      expect(list.upcoming.map((s) => s.id)).toContain(show.id);

      const live = Show.parse(await (await post(`/v1/shows/${show.id}/live`, seller.headers)).json());
      expect(live.status).toBe('live');
      expect(live.startedAt).not.toBeNull();
      list = ShowList.parse(await (await t.app.request('/v1/shows')).json());
      expect(list.live.map((s) => s.id)).toContain(show.id);

      const ended = Show.parse(await (await post(`/v1/shows/${show.id}/end`, seller.headers)).json());
      expect(ended.status).toBe('ended');
      list = ShowList.parse(await (await t.app.request('/v1/shows')).json());
      expect(list.ended.map((s) => s.id)).toContain(show.id);
    });

    it('refuses transitions out of order', async () => {
      const show = await schedule();
      expect((await post(`/v1/shows/${show.id}/end`, seller.headers)).status).toBe(409);
      await post(`/v1/shows/${show.id}/live`, seller.headers);
      expect((await post(`/v1/shows/${show.id}/live`, seller.headers)).status).toBe(409);
    });

    it('lets only one of two racing go-live requests win', async () => {
      const show = await schedule();
      const statuses = (await Promise.all([post(`/v1/shows/${show.id}/live`, seller.headers), post(`/v1/shows/${show.id}/live`, seller.headers)])).map((r) => r.status);
      expect(statuses.sort()).toEqual([200, 409]);
    });

    it('lets only the show’s seller schedule, start and end it', async () => {
      const show = await schedule();
      expect((await t.app.request('/v1/shows', jsonRequest('POST', { title: 'x', scheduledAt: new Date().toISOString() }, shopper.headers))).status).toBe(403);
      expect((await t.app.request('/v1/shows', jsonRequest('POST', { title: 'x', scheduledAt: new Date().toISOString() }))).status).toBe(401);
      expect((await post(`/v1/shows/${show.id}/live`, otherSeller.headers)).status).toBe(403);
      expect((await post(`/v1/shows/${show.id}/live`, shopper.headers)).status).toBe(403);
      expect(Show.parse(await (await t.app.request(`/v1/shows/${show.id}`)).json()).status).toBe('scheduled');
    });

    it('needs a title and an instant', async () => {
      const response = await t.app.request('/v1/shows', jsonRequest('POST', { title: ' ', scheduledAt: 'tomorrow' }, seller.headers));
      expect(response.status).toBe(400);
    });
  });
});
