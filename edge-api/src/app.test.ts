import { INGEST_VERIFY_PATH, IngestVerifyResponse, Problem, Show, ShowList, newId } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_STREAM_KEY, seedDemoData } from './seed.ts';
import { TEST_SECRET } from './testing/test-app.ts';
import { BACKENDS } from './testing/backends.ts';
import { createTestApp, type TestApp } from './testing/test-app.ts';

describe.each(BACKENDS)('on %s', (backend) => {
  let t: TestApp;
  let app: TestApp['app'];

  beforeAll(async () => {
    t = await createTestApp({ backend });
    app = t.app;
    await seedDemoData(t.database.db);
  });
  afterAll(() => t.close());

  describe('GET /v1/shows', () => {
    it('lists the seeded show as upcoming, with its seller', async () => {
      const response = await app.request('/v1/shows');
      expect(response.status).toBe(200);
      const list = ShowList.parse(await response.json());
      expect(list.live).toEqual([]);
      expect(list.upcoming).toHaveLength(1);
      expect(list.upcoming[0]).toMatchObject({ title: 'Autumn layers, live', sellerName: 'Mina’s Closet', status: 'scheduled', startedAt: null });
    });

    it('reads one show by id', async () => {
      const { upcoming } = ShowList.parse(await (await app.request('/v1/shows')).json());
      const response = await app.request(`/v1/shows/${upcoming[0]!.id}`);
      expect(Show.parse(await response.json())).toEqual(upcoming[0]);
    });

    it('answers an unknown id with a 404 problem and a malformed one with a 400 naming the field', async () => {
      const missing = await app.request(`/v1/shows/${newId()}`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/problem+json');
      expect(Problem.parse(await missing.json()).title).toBe('Not found');

      const malformed = await app.request('/v1/shows/not-an-id');
      expect(malformed.status).toBe(400);
      const problem = Problem.parse(await malformed.json());
      expect(problem.errors).toEqual([{ path: 'id', message: 'must be a UUIDv7 identifier' }]);
    });
  });

  describe('seeding', () => {
    it('seeds once: a second run leaves existing data alone', async () => {
      expect(await seedDemoData(t.database.db)).toBe(false);
      const { count } = await t.database.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
      expect(Number(count)).toBe(2);
    });

    it('gives the demo seller a stream key that opens the seeded show', async () => {
      const { upcoming } = ShowList.parse(await (await app.request('/v1/shows')).json());
      const response = await app.request(INGEST_VERIFY_PATH, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify({ streamKey: DEMO_STREAM_KEY }),
      });
      expect(IngestVerifyResponse.parse(await response.json())).toEqual({ ok: true, showId: upcoming[0]!.id, sellerId: upcoming[0]!.sellerId });
    });
  });

  describe('the API reference', () => {
    it('renders every route at /docs', async () => {
      const response = await app.request('/docs');
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      for (const path of ['/v1/shows', '/v1/auth/login', '/v1/products/{id}', '/v1/shows/{id}/pins/{productId}']) expect(html).toContain(`<code>${path}</code>`);
    });
  });

  describe('the OpenAPI document', () => {
    it('describes the show routes', async () => {
      const doc = (await (await app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/shows', '/v1/shows/{id}', '/v1/auth/signup', '/v1/products', '/v1/stream-key', '/v1/shows/{id}/sfu-token']));
    });
  });
});
