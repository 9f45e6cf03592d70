import type { CheckoutResponse } from '@mytaek1/contracts';
import { createApiClient } from '@mytaek1/edge-api/client';
import { describe, expect, it } from 'vitest';
import { attemptFor, cardNumberProblem, formatCardNumber, PurchaseAttempt, type PurchaseRequest, UnpaidCheckouts } from './purchase.ts';

const request: PurchaseRequest = { showId: '0193a000-0000-7000-8000-000000000001', productId: '0193a000-0000-7000-8000-000000000002', quantity: 1, allowAnother: false };

const checkoutResponse = (status: CheckoutResponse['order']['status'] = 'pending'): CheckoutResponse => ({
  order: {
    id: '0193a000-0000-7000-8000-000000000009',
    buyerId: '0193a000-0000-7000-8000-000000000003',
    sellerId: '0193a000-0000-7000-8000-000000000004',
    showId: request.showId,
    productId: request.productId,
    quantity: 1,
    unitPrice: { amount: 5900, currency: 'USD' },
    total: { amount: 5900, currency: 'USD' },
    flashDeal: false,
    status,
    createdAt: '2026-11-25T10:00:00.000Z',
    payBy: status === 'pending' ? '2026-11-25T10:10:00.000Z' : null,
  },
  payment: { provider: 'sandbox', intentId: 'pi_1', clientSecret: 'pi_1_secret', status: 'requires_confirmation', amount: { amount: 5900, currency: 'USD' } },
});

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const problem = (status: number, reason: string) => json(status, { type: `https://mytaek1.dev/problems/${reason}`, title: 'Conflict', status });

/** An API that answers each request with the next of `answers` (a thrown error is a network failure), recording what was sent. */
function scriptedApi(answers: Array<Response | Error>) {
  const sent: Array<{ url: string; key: string | null; body: unknown }> = [];
  const api = createApiClient('http://shop.test/api', {
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      sent.push({ url: req.url, key: req.headers.get('idempotency-key'), body: await req.json().catch(() => null) });
      const answer = answers.shift();
      if (!answer) throw new Error(`unexpected request to ${req.url}`);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { api, sent };
}

const noWait = async () => {};

describe('PurchaseAttempt.checkout', () => {
  it('sends one Idempotency-Key on every retry of an attempt: lost answers and checkouts in progress', async () => {
    const { api, sent } = scriptedApi([new TypeError('network down'), problem(409, 'in-progress'), json(200, checkoutResponse())]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    const outcome = await attempt.checkout();
    expect(outcome).toEqual({ kind: 'opened', checkout: checkoutResponse() });
    expect(sent.map((s) => s.url)).toEqual(Array(3).fill('http://shop.test/api/v1/checkout'));
    expect(new Set(sent.map((s) => s.key))).toEqual(new Set([attempt.idempotencyKey]));
    expect(sent[0]!.body).toEqual(request);
    expect(attempt.done).toBe(false);
  });

  it('gives up on an answer-less attempt after a few tries, leaving it open to try again', async () => {
    const { api } = scriptedApi([new TypeError('a'), problem(502, 'blank'), new TypeError('c')]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    expect(await attempt.checkout()).toMatchObject({ kind: 'failed' });
    expect(attempt.done).toBe(false);
    expect(attemptFor(attempt, request, api)).toBe(attempt);
    expect(attemptFor(attempt, { ...request, allowAnother: true }, api)).not.toBe(attempt);
  });

  it('ends the attempt on a refusal, in plain words; the next purchase gets a new key', async () => {
    const { api } = scriptedApi([problem(409, 'sold-out')]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    expect(await attempt.checkout()).toEqual({ kind: 'refused', problem: { status: 409, reason: 'sold-out', detail: undefined }, message: 'Sold out: every unit has been bought.' });
    expect(attempt.done).toBe(true);
    const next = attemptFor(attempt, request, api);
    expect(next).not.toBe(attempt);
    expect(next.idempotencyKey).not.toBe(attempt.idempotencyKey);
  });

  it('does not retry after payment-unavailable (that order was cancelled: its key is spent)', async () => {
    const { api, sent } = scriptedApi([problem(503, 'payment-unavailable')]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    expect(await attempt.checkout()).toMatchObject({ kind: 'refused', problem: { reason: 'payment-unavailable' } });
    expect(sent).toHaveLength(1);
    expect(attempt.done).toBe(true);
  });

  it('tells a signed-out buyer apart, and closes an attempt whose order is no longer pending', async () => {
    const { api } = scriptedApi([problem(401, 'unauthenticated'), json(200, checkoutResponse('cancelled'))]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    expect(await attempt.checkout()).toEqual({ kind: 'signed-out' });
    expect(await attempt.checkout()).toMatchObject({ kind: 'closed', order: { status: 'cancelled' } });
    expect(attempt.done).toBe(true);
  });
});

describe('PurchaseAttempt.pay', () => {
  it('confirms with the client secret; a declined card can be followed by another', async () => {
    const { api, sent } = scriptedApi([problem(400, 'card-declined'), json(200, { intentId: 'pi_1', status: 'requires_capture' })]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    expect(await attempt.pay(checkoutResponse(), '4000000000000002')).toEqual({ kind: 'declined', message: 'Your card was declined. Try another card.' });
    expect(attempt.done).toBe(false);
    expect(await attempt.pay(checkoutResponse(), '4242 4242 4242 4242')).toEqual({ kind: 'paid' });
    expect(attempt.done).toBe(true);
    expect(sent.map((s) => s.url)).toEqual(Array(2).fill('http://shop.test/api/v1/sandbox/payment-intents/pi_1/confirm'));
    expect(sent.map((s) => s.body)).toEqual([
      { clientSecret: 'pi_1_secret', cardNumber: '4000 0000 0000 0002' },
      { clientSecret: 'pi_1_secret', cardNumber: '4242 4242 4242 4242' },
    ]);
  });

  it('refuses what cannot be a card without asking, and hands a payment no longer awaiting confirmation to the order page', async () => {
    const { api, sent } = scriptedApi([problem(409, 'payment-not-confirmable')]);
    const attempt = new PurchaseAttempt(request, api, { sleep: noWait });
    expect(await attempt.pay(checkoutResponse(), '4242')).toMatchObject({ kind: 'declined' });
    expect(sent).toHaveLength(0);
    expect(await attempt.pay(checkoutResponse(), '4242 4242 4242 4242')).toEqual({ kind: 'settled' });
  });
});

describe('card numbers', () => {
  it('are grouped by four as typed, and checked for length', () => {
    expect(formatCardNumber('4242424242424242')).toBe('4242 4242 4242 4242');
    expect(formatCardNumber('4242-4242 42')).toBe('4242 4242 42');
    expect(cardNumberProblem('4242 4242 4242 4242')).toBeNull();
    expect(cardNumberProblem('4242')).toMatch(/full number/);
    expect(cardNumberProblem('4242 abcd 4242 4242')).toMatch(/digits only/);
  });
});

describe('UnpaidCheckouts', () => {
  it('remembers a pending checkout’s key until its pay-by time, so its order page can replay it', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    let now = Date.parse('2026-11-25T10:00:00.000Z');
    const unpaid = new UnpaidCheckouts(storage, () => now);
    const { api } = scriptedApi([]);
    const attempt = new PurchaseAttempt(request, api);
    const checkout = checkoutResponse();

    unpaid.remember(checkout, attempt);
    const resumed = unpaid.resume(checkout.order.id, api);
    expect(resumed?.idempotencyKey).toBe(attempt.idempotencyKey);
    expect(resumed?.request).toEqual(request);

    now = Date.parse(checkout.order.payBy!);
    expect(unpaid.resume(checkout.order.id, api)).toBeNull();
    now = Date.parse('2026-11-25T10:00:00.000Z');
    unpaid.forget(checkout.order.id);
    expect(unpaid.resume(checkout.order.id, api)).toBeNull();
  });
});
