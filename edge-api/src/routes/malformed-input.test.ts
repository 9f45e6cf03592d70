import { newId, Product, Show } from '@mytaek1/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from './docs.ts';
import { createTestApp, jsonRequest, signUpAs, type TestApp } from '../testing/test-app.ts';

/**
 * Every route, fed arbitrary input by an authorised seller: the answer is a 2xx or a 4xx with a
 * problem document, never a 5xx, and a refused request leaves every table as it was.
 */
let t: TestApp;
let seller: Awaited<ReturnType<typeof signUpAs>>;
let knownIds: string[];

beforeAll(async () => {
  t = await createTestApp({ loginLimit: 1_000_000 });
  seller = await signUpAs(t.app, 'seller');
  const product = Product.parse(await (await t.app.request('/v1/products', jsonRequest('POST', { title: 'x', price: { amount: 100, currency: 'USD' }, stock: 1 }, seller.headers))).json());
  const show = Show.parse(await (await t.app.request('/v1/shows', jsonRequest('POST', { title: 'x', scheduledAt: new Date().toISOString() }, seller.headers))).json());
  knownIds = [product.id, show.id, seller.id];
});
afterAll(() => t.close());

const TABLES = ['users', 'sessions', 'products', 'shows', 'stream_keys', 'show_pins', 'orders', 'deal_sales', 'sandbox_payment_intents', 'processed_webhook_events'] as const;
async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const { n } = await t.database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(n);
  }
  return counts;
}

const pathParam = () => fc.oneof(fc.string({ maxLength: 40 }), fc.uuid(), fc.constantFrom(...knownIds), fc.constant(newId()));
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant('{"title":'),
  fc.dictionary(fc.constantFrom('title', 'price', 'stock', 'email', 'password', 'displayName', 'role', 'scheduledAt', 'flashDeal', 'streamKey'), fc.jsonValue({ maxDepth: 2 })).map((v) => JSON.stringify(v)),
);
const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded');

describe('malformed input on every route', async () => {
  const doc = (await (await (await createTestApp()).app.request('/openapi.json')).json()) as OpenApiDocument;
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    (['get', 'post', 'put', 'patch', 'delete'] as const).filter((m) => item[m]).map((method) => ({ path, method })),
  );

  it('covers the whole API', () => expect(operations.length).toBeGreaterThanOrEqual(20));

  it('acts as a signed-in seller throughout, so input reaches the checks behind authorisation', async () => {
    expect((await t.app.request('/v1/auth/me', { headers: seller.headers })).status).toBe(200);
  });

  for (const { path, method } of operations) {
    it(`${method.toUpperCase()} ${path}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(pathParam(), { minLength: 2, maxLength: 2 }), fc.string({ maxLength: 30 }), body, contentType, async ([a, b], query, payload, type) => {
          let n = 0;
          const url = path.replace(/\{[^}]+\}/g, () => encodeURIComponent([a, b][n++]!)) + (query ? `?${query}` : '');
          const before = await rowCounts();
          // Logging out ends the session it is sent with: give it one of its own.
          const actor = path === '/v1/auth/logout' ? await signUpAs(t.app, 'shopper') : seller;
          const init: RequestInit = { method: method.toUpperCase(), headers: { ...actor.headers, 'content-type': type } };
          if (method !== 'get' && method !== 'delete') init.body = payload;
          const response = await t.app.request(url, init);
          expect(response.status, `${method} ${url} ${payload}`).toBeLessThan(500);
          if (response.status >= 400) {
            expect(response.headers.get('content-type')).toBe('application/problem+json');
            expect(await rowCounts()).toEqual(before);
          }
        }),
        { numRuns: 25 },
      );
    });
  }
});
