import { CheckoutRequest, CheckoutResponse, IdempotencyKey } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Checkout } from '../domain/checkout.ts';
import { type AuthEnv, requireUser } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { jsonBody, ok, problem } from './openapi-helpers.ts';
import { toOrder } from './orders-view.ts';

const checkoutRoute = createRoute({
  method: 'post',
  path: '/checkout',
  summary: 'Buy a product pinned to a live show: holds the units and opens a payment',
  description:
    'Send a fresh Idempotency-Key per purchase attempt and the same key on retries: a repeated key answers with the same order and payment, and never holds or charges twice. Losers of a rush are told `sold-out`, `deal-sold-out` or `buyer-limit` at once.',
  security: [{ session: [] }],
  request: { headers: z.object({ 'idempotency-key': IdempotencyKey }), ...jsonBody(CheckoutRequest) },
  responses: {
    201: ok('Order created: confirm the payment within `payBy`', CheckoutResponse),
    200: ok('The same checkout, answered again for a repeated Idempotency-Key', CheckoutResponse),
    400: problem('Invalid input'),
    401: problem('Not signed in'),
    403: problem('Sellers cannot buy their own products'),
    404: problem('No such show'),
    409: problem('Sold out, limit reached, show not live, or an unpaid order exists'),
    503: problem('Payment provider unreachable; nothing was charged'),
  },
});

export function checkoutRoutes({ checkout }: { checkout: Checkout }) {
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook }).openapi(checkoutRoute, async (c) => {
    const buyer = requireUser(c);
    const body = c.req.valid('json');
    const result = await checkout.checkout({ buyerId: buyer.id, ...body, idempotencyKey: c.req.valid('header')['idempotency-key'] });
    const response: CheckoutResponse = {
      order: toOrder(result.order),
      payment: {
        provider: 'sandbox',
        intentId: result.payment.id,
        clientSecret: result.payment.clientSecret,
        status: result.payment.status,
        amount: { amount: result.payment.amount, currency: result.payment.currency },
      },
    };
    return result.replayed ? c.json(response, 200) : c.json(response, 201);
  });
}
