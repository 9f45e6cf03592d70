import { CreateProductRequest, Id, Product, ProductList, UpdateProductRequest } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { archiveProduct, createProduct, editProduct, type ProductDraft, type ProductRecord, type ProductStore } from '../domain/catalog.ts';
import { DomainError } from '../domain/errors.ts';
import { type AuthEnv, requireUser } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { jsonBody, ok, problem, writeProblems } from './openapi-helpers.ts';

const ProductParams = z.object({ id: Id });

const list = createRoute({
  method: 'get',
  path: '/',
  summary: 'Active products, newest first, optionally of one seller',
  request: { query: z.object({ sellerId: Id.optional(), limit: z.coerce.number().int().min(1).max(100).default(50) }) },
  responses: { 200: ok('Products', ProductList), 400: problem('Invalid query') },
});
const read = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One product',
  request: { params: ProductParams },
  responses: { 200: ok('The product', Product), 404: problem('No such product') },
});
const create = createRoute({
  method: 'post',
  path: '/',
  summary: 'Create a product (sellers)',
  request: jsonBody(CreateProductRequest),
  responses: { 201: ok('Created', Product), ...writeProblems },
});
const update = createRoute({
  method: 'patch',
  path: '/{id}',
  summary: 'Edit a product (its seller)',
  request: { params: ProductParams, ...jsonBody(UpdateProductRequest) },
  responses: { 200: ok('Edited', Product), ...writeProblems, 404: problem('No such product'), 409: problem('Archived') },
});
const archive = createRoute({
  method: 'post',
  path: '/{id}/archive',
  summary: 'Archive a product (its seller): it leaves the catalog, its orders stay',
  request: { params: ProductParams },
  responses: { 200: ok('Archived', Product), ...writeProblems, 404: problem('No such product') },
});

export function productRoutes({ products, now, newId }: { products: ProductStore; now: () => number; newId: () => string }) {
  const load = async (id: string) => {
    const product = await products.get(id);
    if (!product) throw new DomainError('not_found', 'no product has that id');
    return product;
  };
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(list, async (c) => {
      const { sellerId, limit } = c.req.valid('query');
      return c.json({ products: (await products.listActive({ ...(sellerId ? { sellerId } : {}), limit })).map(toProduct) }, 200);
    })
    .openapi(read, async (c) => c.json(toProduct(await load(c.req.valid('param').id)), 200))
    .openapi(create, async (c) => {
      const seller = requireUser(c, 'seller');
      const { price, ...fields } = c.req.valid('json');
      const product = createProduct({ ...fields, priceAmount: price.amount, currency: price.currency }, seller.id, newId(), now());
      await products.insert(product);
      return c.json(toProduct(product), 201);
    })
    .openapi(update, async (c) => {
      const seller = requireUser(c, 'seller');
      const edited = editProduct(await load(c.req.valid('param').id), seller.id, toPatch(c.req.valid('json')), now());
      await products.update(edited);
      return c.json(toProduct(edited), 200);
    })
    .openapi(archive, async (c) => {
      const seller = requireUser(c, 'seller');
      const archived = archiveProduct(await load(c.req.valid('param').id), seller.id, now());
      await products.update(archived);
      return c.json(toProduct(archived), 200);
    });
}

type ProductFieldsInput = Partial<z.output<typeof CreateProductRequest>>;

/** The domain's flat draft from the API's shape (money as one object there, two columns here). */
function toPatch({ price, ...rest }: ProductFieldsInput): Partial<ProductDraft> {
  return { ...rest, ...(price ? { priceAmount: price.amount, currency: price.currency } : {}) };
}

export function toProduct(product: ProductRecord): Product {
  return {
    id: product.id,
    sellerId: product.sellerId,
    title: product.title,
    description: product.description,
    imageUrls: product.imageUrls,
    price: { amount: product.priceAmount, currency: product.currency },
    stock: product.stock,
    status: product.status,
  };
}
