import { CheckoutResponse, Order, Product, Show } from '@mytaek1/contracts';
import type { ShowEvent } from '../domain/checkout.ts';
import type { BackendName } from './backends.ts';
import { createTestApp, jsonRequest, signUpAs, type TestApp, type TestAppOptions } from './test-app.ts';

export type Account = Awaited<ReturnType<typeof signUpAs>>;

export interface DealTerms {
  priceAmount: number;
  totalLimit?: number;
  perBuyerLimit?: number;
}

/**
 * A live show with one pinned product, its seller, and a clock the test moves: the stage on which
 * every checkout test plays.
 */
export class CheckoutStage {
  readonly t: TestApp;
  readonly seller: Account;
  readonly show: Show;
  readonly product: Product;
  readonly events: ShowEvent[];
  #clock: { now: number };

  private constructor(t: TestApp, seller: Account, show: Show, product: Product, clock: { now: number }, events: ShowEvent[]) {
    this.t = t;
    this.seller = seller;
    this.show = show;
    this.product = product;
    this.#clock = clock;
    this.events = events;
  }

  static async create({
    backend,
    stock,
    deal,
    reservations = null,
    paymentWindowMs = 60_000,
    baselineLocks,
  }: {
    backend: BackendName;
    stock: number;
    deal?: DealTerms;
    reservations?: TestAppOptions['reservations'];
    paymentWindowMs?: number;
    baselineLocks?: TestAppOptions['baselineLocks'];
  }): Promise<CheckoutStage> {
    const clock = { now: Date.now() };
    const t = await createTestApp({ backend, reservations, paymentWindowMs, now: () => clock.now, loginLimit: 1_000_000, ...(baselineLocks ? { baselineLocks } : {}) });
    const seller = await signUpAs(t.app, 'seller', 'Studio');
    const product = Product.parse(
      await (await t.app.request('/v1/products', jsonRequest('POST', { title: 'Drop', price: { amount: 5000, currency: 'USD' }, stock }, seller.headers))).json(),
    );
    const show = Show.parse(await (await t.app.request('/v1/shows', jsonRequest('POST', { title: 'Rush', scheduledAt: new Date(clock.now).toISOString() }, seller.headers))).json());
    await t.app.request(`/v1/shows/${show.id}/live`, { method: 'POST', headers: seller.headers });
    const flashDeal = deal
      ? {
          price: { amount: deal.priceAmount, currency: 'USD' },
          startsAt: new Date(clock.now - 1000).toISOString(),
          endsAt: new Date(clock.now + 3_600_000).toISOString(),
          ...(deal.totalLimit ? { totalLimit: deal.totalLimit } : {}),
          ...(deal.perBuyerLimit ? { perBuyerLimit: deal.perBuyerLimit } : {}),
        }
      : undefined;
    const pinned = await t.app.request(`/v1/shows/${show.id}/pins/${product.id}`, jsonRequest('PUT', flashDeal ? { flashDeal } : {}, seller.headers));
    if (pinned.status !== 200) throw new Error(`pin failed: ${await pinned.text()}`);
    const events: ShowEvent[] = [];
    t.events.subscribe(show.id, (event) => events.push(event));
    return new CheckoutStage(t, seller, show, product, clock, events);
  }

  /** The test's clock, which the checkout reads. */
  now(): number {
    return this.#clock.now;
  }

  /** Moves the test's clock forward. */
  advance(ms: number): void {
    this.#clock.now += ms;
  }

  buyers(count: number): Promise<Account[]> {
    return Promise.all(Array.from({ length: count }, () => signUpAs(this.t.app, 'shopper')));
  }

  checkout(buyer: Account, { key = crypto.randomUUID(), quantity = 1, allowAnother = false }: { key?: string; quantity?: number; allowAnother?: boolean } = {}) {
    return this.t.app.request(
      '/v1/checkout',
      jsonRequest('POST', { showId: this.show.id, productId: this.product.id, quantity, allowAnother }, { ...buyer.headers, 'idempotency-key': key }),
    );
  }

  async buy(buyer: Account, options?: Parameters<CheckoutStage['checkout']>[1]): Promise<CheckoutResponse> {
    const response = await this.checkout(buyer, options);
    if (response.status !== 201) throw new Error(`checkout answered ${response.status}: ${await response.text()}`);
    return CheckoutResponse.parse(await response.json());
  }

  /** What the buyer's browser does: confirm the payment with a test card. */
  pay(checkout: CheckoutResponse, cardNumber = '4242 4242 4242 4242') {
    return this.t.app.request(`/v1/sandbox/payment-intents/${checkout.payment.intentId}/confirm`, jsonRequest('POST', { clientSecret: checkout.payment.clientSecret, cardNumber }));
  }

  async order(id: string, as: Account): Promise<Order> {
    return Order.parse(await (await this.t.app.request(`/v1/orders/${id}`, { headers: as.headers })).json());
  }

  async stock(): Promise<number> {
    return Product.parse(await (await this.t.app.request(`/v1/products/${this.product.id}`)).json()).stock;
  }

  async orderCount(status?: string): Promise<number> {
    let query = this.t.database.db.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).where('product_id', '=', this.product.id);
    if (status) query = query.where('status', '=', status as never);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  close(): Promise<void> {
    return this.t.close();
  }
}
