import { PinList, Pin, Product, Show } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../testing/backends.ts';
import { createTestApp, jsonRequest, signUpAs, type TestApp } from '../testing/test-app.ts';

describe.each(BACKENDS)('on %s', (backend) => {
  let t: TestApp;
  let seller: Awaited<ReturnType<typeof signUpAs>>;
  let otherSeller: Awaited<ReturnType<typeof signUpAs>>;

  beforeAll(async () => {
    t = await createTestApp({ backend });
    [seller, otherSeller] = await Promise.all([signUpAs(t.app, 'seller'), signUpAs(t.app, 'seller')]);
  });
  afterAll(() => t.close());

  async function product(headers = seller.headers, price = 5000) {
    const response = await t.app.request('/v1/products', jsonRequest('POST', { title: 'Item', price: { amount: price, currency: 'USD' }, stock: 10 }, headers));
    return Product.parse(await response.json());
  }
  async function liveShow() {
    const show = Show.parse(await (await t.app.request('/v1/shows', jsonRequest('POST', { title: 'Pins', scheduledAt: new Date().toISOString() }, seller.headers))).json());
    await t.app.request(`/v1/shows/${show.id}/live`, { method: 'POST', headers: seller.headers });
    return show;
  }
  const pin = (showId: string, productId: string, body: unknown = {}, headers = seller.headers) =>
    t.app.request(`/v1/shows/${showId}/pins/${productId}`, jsonRequest('PUT', body, headers));
  const pinsOf = async (showId: string) => PinList.parse(await (await t.app.request(`/v1/shows/${showId}/pins`)).json()).pins;

  const deal = (overrides: Record<string, unknown> = {}) => ({
    flashDeal: {
      price: { amount: 2900, currency: 'USD' },
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 600_000).toISOString(),
      totalLimit: 50,
      perBuyerLimit: 2,
      ...overrides,
    },
  });

  describe('pins', () => {
    it('pins products with their stock and a flash deal, in slot order', async () => {
      const show = await liveShow();
      const [a, b] = [await product(), await product()];
      expect((await pin(show.id, a.id)).status).toBe(200);
      const withDeal = Pin.parse(await (await pin(show.id, b.id, deal())).json());
      expect(withDeal).toMatchObject({ slot: 2, stock: 10, flashDeal: { price: { amount: 2900 }, totalLimit: 50, perBuyerLimit: 2 } });
      expect((await pinsOf(show.id)).map((p) => [p.slot, p.productId])).toEqual([[1, a.id], [2, b.id]]);
    });

    it('re-pinning updates the deal in place', async () => {
      const show = await liveShow();
      const a = await product();
      await pin(show.id, a.id);
      const updated = Pin.parse(await (await pin(show.id, a.id, deal({ perBuyerLimit: 1 }))).json());
      expect(updated).toMatchObject({ slot: 1, flashDeal: { perBuyerLimit: 1 } });
      expect(await pinsOf(show.id)).toHaveLength(1);
    });

    it('holds at most three pins, even when six requests race for the slots', async () => {
      const show = await liveShow();
      const items = await Promise.all(Array.from({ length: 6 }, () => product()));
      const statuses = (await Promise.all(items.map((item) => pin(show.id, item.id)))).map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.filter((s) => s === 409)).toHaveLength(3);
      const pins = await pinsOf(show.id);
      expect(pins.map((p) => p.slot)).toEqual([1, 2, 3]);
    });

    it('frees a slot on unpin', async () => {
      const show = await liveShow();
      const [a, b, c, d] = await Promise.all([product(), product(), product(), product()]);
      for (const item of [a, b, c]) await pin(show.id, item!.id);
      expect((await pin(show.id, d!.id)).status).toBe(409);
      expect((await t.app.request(`/v1/shows/${show.id}/pins/${b!.id}`, { method: 'DELETE', headers: seller.headers })).status).toBe(204);
      expect(Pin.parse(await (await pin(show.id, d!.id)).json()).slot).toBe(2);
      expect((await t.app.request(`/v1/shows/${show.id}/pins/${b!.id}`, { method: 'DELETE', headers: seller.headers })).status).toBe(404);
    });

    it('refuses deals that are not deals', async () => {
      const show = await liveShow();
      const a = await product();
      const problems = await Promise.all([
        pin(show.id, a.id, deal({ price: { amount: 5000, currency: 'USD' } })),
        pin(show.id, a.id, deal({ price: { amount: 100, currency: 'EUR' } })),
        pin(show.id, a.id, deal({ endsAt: new Date(Date.now() - 1000).toISOString(), startsAt: new Date(Date.now() - 5000).toISOString() })),
        pin(show.id, a.id, deal({ endsAt: new Date(Date.now() - 10_000).toISOString() })),
        pin(show.id, a.id, deal({ perBuyerLimit: 60 })),
      ]);
      expect(problems.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
      expect(await pinsOf(show.id)).toEqual([]);
    });

    it('lets only the show’s seller pin, and only their own products', async () => {
      const show = await liveShow();
      const mine = await product();
      const theirs = await product(otherSeller.headers);
      expect((await pin(show.id, mine.id, {}, otherSeller.headers)).status).toBe(403);
      expect((await pin(show.id, theirs.id)).status).toBe(403);
      expect((await t.app.request(`/v1/shows/${show.id}/pins/${mine.id}`, jsonRequest('PUT', {}))).status).toBe(401);
      await pin(show.id, mine.id);
      expect((await t.app.request(`/v1/shows/${show.id}/pins/${mine.id}`, { method: 'DELETE', headers: otherSeller.headers })).status).toBe(403);
      expect(await pinsOf(show.id)).toHaveLength(1);
    });
  });
});
