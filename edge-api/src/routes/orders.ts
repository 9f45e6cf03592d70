import { Id, Order, OrderList } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Checkout, OrderStore } from '../domain/checkout.ts';
import { DomainError } from '../domain/errors.ts';
import type { ShowStore } from '../domain/shows.ts';
import { type AuthEnv, requireUser } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { ok, problem, writeProblems } from './openapi-helpers.ts';
import { toOrder } from './orders-view.ts';

const OrderParams = z.object({ id: Id });
const Limit = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });
const readProblems = { 400: problem('Invalid input'), 401: problem('Not signed in'), 403: problem('Not yours'), 404: problem('Not found') } as const;

const mine = createRoute({ method: 'get', path: '/orders', summary: 'The signed-in buyer’s orders, newest first', request: { query: Limit }, responses: { 200: ok('Orders', OrderList), ...readProblems } });
const one = createRoute({ method: 'get', path: '/orders/{id}', summary: 'One order (its buyer or seller)', request: { params: OrderParams }, responses: { 200: ok('The order', Order), ...readProblems } });
const showFeed = createRoute({
  method: 'get',
  path: '/shows/{id}/orders',
  summary: 'The seller’s live order feed for a show, newest first',
  request: { params: OrderParams, query: Limit },
  responses: { 200: ok('Orders', OrderList), ...readProblems },
});
const action = <P extends string>(path: P, summary: string) =>
  createRoute({ method: 'post', path, summary, request: { params: OrderParams }, responses: { 200: ok('The order', Order), ...writeProblems, 404: problem('Not found'), 409: problem('Not possible in the order’s state') } });
const cancel = action('/orders/{id}/cancel', 'Cancel an unpaid order (its buyer): its units go back on sale');
const fulfil = action('/orders/{id}/fulfil', 'Mark a paid order shipped (its seller)');
const refund = action('/orders/{id}/refund', 'Refund a paid order (its seller, or an admin): its units go back on sale');

export function orderRoutes({ orders, checkout, shows }: { orders: OrderStore; checkout: Checkout; shows: ShowStore }) {
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(mine, async (c) => c.json({ orders: (await orders.listForBuyer(requireUser(c).id, c.req.valid('query').limit)).map(toOrder) }, 200))
    .openapi(one, async (c) => {
      const user = requireUser(c);
      const order = await orders.get(c.req.valid('param').id);
      if (!order) throw new DomainError('not_found', 'no order has that id');
      if (order.buyerId !== user.id && order.sellerId !== user.id && user.role !== 'admin') throw new DomainError('forbidden', 'this is not your order');
      return c.json(toOrder(order), 200);
    })
    .openapi(showFeed, async (c) => {
      const user = requireUser(c);
      const show = await shows.get(c.req.valid('param').id);
      if (!show) throw new DomainError('not_found', 'no show has that id');
      if (show.sellerId !== user.id && user.role !== 'admin') throw new DomainError('forbidden', 'only the show’s seller sees its orders');
      return c.json({ orders: (await orders.listForShow(show.id, c.req.valid('query').limit)).map(toOrder) }, 200);
    })
    .openapi(cancel, async (c) => c.json(toOrder(await checkout.cancelByBuyer(c.req.valid('param').id, requireUser(c).id)), 200))
    .openapi(fulfil, async (c) => c.json(toOrder(await checkout.fulfil(c.req.valid('param').id, requireUser(c, 'seller').id)), 200))
    .openapi(refund, async (c) => {
      const user = requireUser(c, 'seller', 'admin');
      return c.json(toOrder(await checkout.refund(c.req.valid('param').id, { id: user.id, isAdmin: user.role === 'admin' })), 200);
    });
}
