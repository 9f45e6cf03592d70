import { Problem, Product, ProductList } from '@mytaek1/contracts';
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
    [seller, otherSeller, shopper] = await Promise.all([signUpAs(t.app, 'seller'), signUpAs(t.app, 'seller'), signUpAs(t.app, 'shopper')]);
  });
  afterAll(() => t.close());

  const tote = { title: 'Canvas tote', price: { amount: 3400, currency: 'USD' }, stock: 12, imageUrls: ['https://img.example.com/tote.jpg'] };

  async function createTote(headers = seller.headers) {
    const response = await t.app.request('/v1/products', jsonRequest('POST', tote, headers));
    expect(response.status).toBe(201);
    return Product.parse(await response.json());
  }

  describe('catalog', () => {
    it('lets a seller create a product that anyone can read and list', async () => {
      const product = await createTote();
      expect(product).toMatchObject({ sellerId: seller.id, title: 'Canvas tote', description: '', price: { amount: 3400, currency: 'USD' }, stock: 12, status: 'active' });
      expect(Product.parse(await (await t.app.request(`/v1/products/${product.id}`)).json())).toEqual(product);
      const { products } = ProductList.parse(await (await t.app.request(`/v1/products?sellerId=${seller.id}`)).json());
      expect(products.map((p) => p.id)).toContain(product.id);
    });

    it('edits only the fields named', async () => {
      const product = await createTote();
      const response = await t.app.request(`/v1/products/${product.id}`, jsonRequest('PATCH', { stock: 3 }, seller.headers));
      expect(Product.parse(await response.json())).toEqual({ ...product, stock: 3 });
    });

    it('archives a product out of the listing', async () => {
      const product = await createTote();
      const archived = await t.app.request(`/v1/products/${product.id}/archive`, { method: 'POST', headers: seller.headers });
      expect(Product.parse(await archived.json()).status).toBe('archived');
      const { products } = ProductList.parse(await (await t.app.request(`/v1/products?sellerId=${seller.id}`)).json());
      expect(products.map((p) => p.id)).not.toContain(product.id);
      const edit = await t.app.request(`/v1/products/${product.id}`, jsonRequest('PATCH', { stock: 1 }, seller.headers));
      expect(edit.status).toBe(409);
    });

    describe('who may do what', () => {
      it('refuses anonymous and shopper writes', async () => {
        expect((await t.app.request('/v1/products', jsonRequest('POST', tote))).status).toBe(401);
        expect((await t.app.request('/v1/products', jsonRequest('POST', tote, shopper.headers))).status).toBe(403);
      });

      it('refuses a seller touching another seller’s product, and changes nothing', async () => {
        const product = await createTote();
        const edit = await t.app.request(`/v1/products/${product.id}`, jsonRequest('PATCH', { stock: 0 }, otherSeller.headers));
        expect(edit.status).toBe(403);
        const archive = await t.app.request(`/v1/products/${product.id}/archive`, { method: 'POST', headers: otherSeller.headers });
        expect(archive.status).toBe(403);
        expect(Product.parse(await (await t.app.request(`/v1/products/${product.id}`)).json())).toEqual(product);
      });
    });

    it('explains invalid input per field', async () => {
      const response = await t.app.request(
        '/v1/products',
        jsonRequest('POST', { title: '', price: { amount: -1, currency: 'usd' }, stock: 1.5, imageUrls: ['javascript:alert(1)'] }, seller.headers),
      );
      expect(response.status).toBe(400);
      const paths = Problem.parse(await response.json()).errors!.map((e) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['title', 'price.amount', 'price.currency', 'stock', 'imageUrls.0']));
      const empty = await t.app.request(`/v1/products/${(await createTote()).id}`, jsonRequest('PATCH', {}, seller.headers));
      expect(empty.status).toBe(400);
    });
  });
});
