import { CheckoutResponse, Order, OrderList, Problem } from '@mytaek1/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../payments/webhook-signature.ts';
import { BACKENDS } from '../testing/backends.ts';
import { CheckoutStage } from '../testing/checkout-fixture.ts';
import { jsonRequest } from '../testing/test-app.ts';

const problemType = async (response: Response) => Problem.parse(await response.json()).type.split('/').at(-1);

describe.each(BACKENDS)('checkout on %s (the SQL guard alone)', (backend) => {
  let stage: CheckoutStage;
  afterEach(() => stage?.close());

  it('holds the units, opens a payment, and publishes the stock', async () => {
    stage = await CheckoutStage.create({ backend, stock: 5 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!, { quantity: 2 });
    expect(result.order).toMatchObject({ status: 'pending', quantity: 2, unitPrice: { amount: 5000, currency: 'USD' }, total: { amount: 10000 }, flashDeal: false });
    expect(result.order.payBy).not.toBeNull();
    expect(result.payment).toMatchObject({ provider: 'sandbox', status: 'requires_confirmation', amount: { amount: 10000, currency: 'USD' } });
    expect(await stage.stock()).toBe(3);
    expect(stage.events).toContainEqual({ type: 'stock', productId: stage.product.id, stock: 3 });
  });

  it('is paid once the buyer confirms: authorised, captured, listed for buyer and seller', async () => {
    stage = await CheckoutStage.create({ backend, stock: 5 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!);
    expect((await stage.pay(result)).status).toBe(200);
    expect((await stage.order(result.order.id, buyer!)).status).toBe('paid');
    const history = OrderList.parse(await (await stage.t.app.request('/v1/orders', { headers: buyer!.headers })).json());
    expect(history.orders.map((o) => [o.id, o.status])).toEqual([[result.order.id, 'paid']]);
    const feed = OrderList.parse(await (await stage.t.app.request(`/v1/shows/${stage.show.id}/orders`, { headers: stage.seller.headers })).json());
    expect(feed.orders.map((o) => o.id)).toEqual([result.order.id]);
    expect(stage.events).toContainEqual(expect.objectContaining({ type: 'order', orderId: result.order.id, status: 'paid' }));
    expect((await stage.t.app.request(`/v1/shows/${stage.show.id}/orders`, { headers: buyer!.headers })).status).toBe(403);
  });

  it('never oversells: 40 buyers at once for 10 units make exactly 10 orders', async () => {
    stage = await CheckoutStage.create({ backend, stock: 10 });
    const buyers = await stage.buyers(40);
    const statuses = await Promise.all(buyers.map(async (buyer) => (await stage.checkout(buyer)).status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(30);
    expect(await stage.stock()).toBe(0);
    expect(await stage.orderCount()).toBe(10);
  });

  it('tells a late buyer it is sold out, at once', async () => {
    stage = await CheckoutStage.create({ backend, stock: 1 });
    const [first, second] = await stage.buyers(2);
    await stage.buy(first!);
    const late = await stage.checkout(second!);
    expect(late.status).toBe(409);
    expect(await problemType(late)).toBe('sold-out');
  });

  it('holds a flash deal’s total and per-buyer limits, and charges the deal price', async () => {
    stage = await CheckoutStage.create({ backend, stock: 50, deal: { priceAmount: 2500, totalLimit: 3, perBuyerLimit: 1 } });
    const [a, b, c, d] = await stage.buyers(4);
    const first = await stage.buy(a!);
    expect(first.order).toMatchObject({ flashDeal: true, unitPrice: { amount: 2500 } });
    const again = await stage.checkout(a!, { allowAnother: true });
    expect(await problemType(again)).toBe('buyer-limit');
    await stage.buy(b!);
    await stage.buy(c!);
    expect(await problemType(await stage.checkout(d!))).toBe('deal-sold-out');
    expect(await stage.stock()).toBe(47);
  });

  it('answers a repeated Idempotency-Key with the same order, and never holds twice', async () => {
    stage = await CheckoutStage.create({ backend, stock: 5 });
    const [buyer] = await stage.buyers(1);
    const key = crypto.randomUUID();
    const first = await stage.checkout(buyer!, { key });
    const second = await stage.checkout(buyer!, { key });
    expect([first.status, second.status]).toEqual([201, 200]);
    const [a, b] = [CheckoutResponse.parse(await first.json()), CheckoutResponse.parse(await second.json())];
    expect(b.order.id).toBe(a.order.id);
    expect(b.payment.intentId).toBe(a.payment.intentId);
    expect(await stage.stock()).toBe(4);
  });

  it('makes one order of five concurrent requests with the same key', async () => {
    stage = await CheckoutStage.create({ backend, stock: 5 });
    const [buyer] = await stage.buyers(1);
    const key = crypto.randomUUID();
    const responses = await Promise.all(Array.from({ length: 5 }, () => stage.checkout(buyer!, { key })));
    const ids = new Set<string>();
    for (const response of responses) {
      if (response.status === 409) expect(await problemType(response)).toBe('in-progress');
      else ids.add(CheckoutResponse.parse(await response.json()).order.id);
    }
    expect(ids.size).toBe(1);
    expect(await stage.orderCount()).toBe(1);
    expect(await stage.stock()).toBe(4);
  });

  it('refuses a key reused for a different purchase', async () => {
    stage = await CheckoutStage.create({ backend, stock: 5 });
    const [buyer] = await stage.buyers(1);
    const key = crypto.randomUUID();
    await stage.buy(buyer!, { key });
    expect(await problemType(await stage.checkout(buyer!, { key, quantity: 2 }))).toBe('idempotency-key-reused');
  });

  it('does not give a double tap a second order unless asked', async () => {
    stage = await CheckoutStage.create({ backend, stock: 5 });
    const [buyer] = await stage.buyers(1);
    await stage.buy(buyer!);
    expect(await problemType(await stage.checkout(buyer!))).toBe('pending-order');
    expect((await stage.checkout(buyer!, { allowAnother: true })).status).toBe(201);
    expect(await stage.stock()).toBe(3);
  });

  it('cancels an order not paid in time and puts its units back', async () => {
    stage = await CheckoutStage.create({ backend, stock: 2, paymentWindowMs: 60_000 });
    const [buyer, other] = await stage.buyers(2);
    const result = await stage.buy(buyer!, { quantity: 2 });
    expect(await problemType(await stage.checkout(other!))).toBe('sold-out');
    stage.advance(30_000);
    expect(await stage.t.services.checkout.expirePending()).toEqual({ cancelled: 0, paid: 0 });
    stage.advance(31_000);
    expect(await stage.t.services.checkout.expirePending()).toEqual({ cancelled: 1, paid: 0 });
    expect((await stage.order(result.order.id, buyer!)).status).toBe('cancelled');
    expect(await stage.stock()).toBe(2);
    expect(stage.events.at(-1)).toEqual({ type: 'stock', productId: stage.product.id, stock: 2 });
    expect((await stage.pay(result)).status).toBe(409);
    expect((await stage.checkout(other!)).status).toBe(201);
  });

  it('never loses a payment authorised just before the window lapsed: it is captured, not cancelled', async () => {
    stage = await CheckoutStage.create({ backend, stock: 2 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!);
    // The authorisation went through but its webhook has not been applied yet.
    await stage.t.database.db.updateTable('sandbox_payment_intents').set({ status: 'requires_capture' }).where('id', '=', result.payment.intentId).execute();
    stage.advance(120_000);
    expect(await stage.t.services.checkout.expirePending()).toEqual({ cancelled: 0, paid: 1 });
    expect((await stage.order(result.order.id, buyer!)).status).toBe('paid');
    expect(await stage.stock()).toBe(1);
  });

  it('leaves the order pending when the card is declined', async () => {
    stage = await CheckoutStage.create({ backend, stock: 2 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!);
    const declined = await stage.pay(result, '4000 0000 0000 0002');
    expect(declined.status).toBe(400);
    expect(await problemType(declined)).toBe('card-declined');
    expect((await stage.order(result.order.id, buyer!)).status).toBe('pending');
    expect((await stage.pay(result)).status).toBe(200);
    expect((await stage.order(result.order.id, buyer!)).status).toBe('paid');
  });

  it('refuses checkouts that cannot happen', async () => {
    stage = await CheckoutStage.create({ backend, stock: 2 });
    const [buyer] = await stage.buyers(1);
    const noKey = await stage.t.app.request('/v1/checkout', jsonRequest('POST', { showId: stage.show.id, productId: stage.product.id }, buyer!.headers));
    expect(noKey.status).toBe(400);
    expect((await stage.t.app.request('/v1/checkout', jsonRequest('POST', { showId: stage.show.id, productId: stage.product.id }, { 'idempotency-key': 'k-12345678' }))).status).toBe(401);
    const own = await stage.checkout(stage.seller);
    expect(own.status).toBe(403);
    await stage.t.app.request(`/v1/shows/${stage.show.id}/end`, { method: 'POST', headers: stage.seller.headers });
    expect(await problemType(await stage.checkout(buyer!))).toBe('show-not-live');
    expect(await stage.stock()).toBe(2);
  });
});

describe.each(BACKENDS)('orders after checkout on %s: every transition of the state machine', (backend) => {
  let stage: CheckoutStage;
  afterEach(() => stage?.close());

  const post = (path: string, headers: Record<string, string>) => stage.t.app.request(path, { method: 'POST', headers });

  it('pending → cancelled by the buyer (units back); a paid order cannot be cancelled', async () => {
    stage = await CheckoutStage.create({ backend, stock: 3 });
    const [buyer, stranger] = await stage.buyers(2);
    const pending = await stage.buy(buyer!);
    expect((await post(`/v1/orders/${pending.order.id}/cancel`, stranger!.headers)).status).toBe(403);
    const cancelled = Order.parse(await (await post(`/v1/orders/${pending.order.id}/cancel`, buyer!.headers)).json());
    expect(cancelled.status).toBe('cancelled');
    expect(await stage.stock()).toBe(3);
    expect((await stage.pay(pending)).status).toBe(409);
    const paid = await stage.buy(buyer!);
    await stage.pay(paid);
    expect((await post(`/v1/orders/${paid.order.id}/cancel`, buyer!.headers)).status).toBe(409);
  });

  it('paid → fulfilled → refunded, by the seller only; refunds put units back', async () => {
    stage = await CheckoutStage.create({ backend, stock: 3 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!);
    expect((await post(`/v1/orders/${result.order.id}/fulfil`, stage.seller.headers)).status).toBe(409);
    await stage.pay(result);
    expect((await post(`/v1/orders/${result.order.id}/fulfil`, buyer!.headers)).status).toBe(403);
    expect(Order.parse(await (await post(`/v1/orders/${result.order.id}/fulfil`, stage.seller.headers)).json()).status).toBe('fulfilled');
    expect(await stage.stock()).toBe(2);
    expect((await post(`/v1/orders/${result.order.id}/refund`, buyer!.headers)).status).toBe(403);
    expect(Order.parse(await (await post(`/v1/orders/${result.order.id}/refund`, stage.seller.headers)).json()).status).toBe('refunded');
    expect(await stage.stock()).toBe(3);
    const intent = await stage.t.database.db.selectFrom('sandbox_payment_intents').selectAll().where('id', '=', result.payment.intentId).executeTakeFirstOrThrow();
    expect(Number(intent.amount_refunded)).toBe(5000);
    expect((await post(`/v1/orders/${result.order.id}/refund`, stage.seller.headers)).status).toBe(409);
    // The seller's order feed heard of each step once.
    const steps = stage.events.filter((event) => event.type === 'order' && event.orderId === result.order.id).map((event) => (event.type === 'order' ? event.status : ''));
    expect(steps).toEqual(['paid', 'fulfilled', 'refunded']);
  });

  it('paid → refunded directly; cancelled and refunded are final', async () => {
    stage = await CheckoutStage.create({ backend, stock: 3 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!);
    await stage.pay(result);
    expect(Order.parse(await (await post(`/v1/orders/${result.order.id}/refund`, stage.seller.headers)).json()).status).toBe('refunded');
    expect((await post(`/v1/orders/${result.order.id}/fulfil`, stage.seller.headers)).status).toBe(409);
    const other = await stage.buy(buyer!);
    await post(`/v1/orders/${other.order.id}/cancel`, buyer!.headers);
    expect((await post(`/v1/orders/${other.order.id}/refund`, stage.seller.headers)).status).toBe(409);
    expect((await post(`/v1/orders/${other.order.id}/fulfil`, stage.seller.headers)).status).toBe(409);
  });
});

describe('payment webhooks', () => {
  let stage: CheckoutStage;
  afterEach(() => stage?.close());

  const deliver = (body: string, signature?: string) =>
    stage.t.app.request('/v1/payments/webhook', { method: 'POST', headers: { 'content-type': 'application/json', ...(signature ? { 'sandbox-signature': signature } : {}) }, body });

  it('refuses unsigned, forged and stale deliveries, and ignores a replay', async () => {
    stage = await CheckoutStage.create({ backend: 'pglite', stock: 3 });
    const [buyer] = await stage.buyers(1);
    const result = await stage.buy(buyer!);
    const event = { id: 'evt_test_1', type: 'payment_intent.amount_capturable_updated', created: 0, data: { object: { id: result.payment.intentId } } };
    const body = JSON.stringify(event);
    const now = Math.floor(Date.now() / 1000);
    // Authorise at the provider without delivering, so only the deliveries below can move the order.
    await stage.t.database.db.updateTable('sandbox_payment_intents').set({ status: 'requires_capture' }).where('id', '=', result.payment.intentId).execute();

    expect((await deliver(body)).status).toBe(400);
    expect((await deliver(body, await signWebhook('not-the-secret', body, now))).status).toBe(400);
    expect((await deliver(body, await signWebhook(stage.t.services.webhookSecret, body, now - 3600))).status).toBe(400);
    expect((await deliver(body.replace('evt_test_1', 'evt_test_2'), await signWebhook(stage.t.services.webhookSecret, body, now))).status).toBe(400);
    expect((await stage.order(result.order.id, buyer!)).status).toBe('pending');

    const signed = await signWebhook(stage.t.services.webhookSecret, body, now);
    expect(await (await deliver(body, signed)).json()).toEqual({ received: true, duplicate: false });
    expect((await stage.order(result.order.id, buyer!)).status).toBe('paid');
    expect(await (await deliver(body, signed)).json()).toEqual({ received: true, duplicate: true });
  });
});
