import { UpstashRestServer } from '@mytaek1/local-cloud';
import { freePort, type RunningProcess, startProcess } from '@mytaek1/test-support';
import { Redis } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisStockReservations } from '../adapters/redis-stock-reservations.ts';
import { FAIL_FAST } from '../adapters/upstash.ts';
import { SqlReservationCounters } from '../db/reservation-counters.ts';
import type { ReservationOutcome, StockReservations } from '../domain/checkout.ts';
import { CheckoutStage } from '../testing/checkout-fixture.ts';
import type { TestApp } from '../testing/test-app.ts';

/**
 * The checkout with its fast path: an atomic Lua reservation in Redis, reached through Upstash's
 * own client and the local endpoint that speaks its REST protocol, in front of the SQL guard.
 */
const PAIRS = ['planetscale-mariadb', 'neon-postgres'] as const;
const TOKEN = 'checkout-test-token';

/** Counts what Redis decided, to show that losers never reached SQL. */
class CountingReservations implements StockReservations {
  readonly outcomes: ReservationOutcome['status'][] = [];
  readonly inner: RedisStockReservations;
  constructor(inner: RedisStockReservations) {
    this.inner = inner;
  }
  async reserve(request: Parameters<StockReservations['reserve']>[0]) {
    const outcome = await this.inner.reserve(request);
    this.outcomes.push(outcome.status);
    return outcome;
  }
  confirm = (holdId: string) => this.inner.confirm(holdId);
  release = (holdId: string, options?: { resync?: boolean }) => this.inner.release(holdId, options);
  restock = (request: Parameters<StockReservations['restock']>[0]) => this.inner.restock(request);
}

function upstashClient(url: string) {
  return new Redis({ url, token: TOKEN, enableTelemetry: false, ...FAIL_FAST });
}

function reservationsOver(url: string, holdTtlMs = 30_000) {
  let counting: CountingReservations | undefined;
  const factory = (database: TestApp['database']) =>
    (counting = new CountingReservations(new RedisStockReservations({ redis: upstashClient(url), counters: new SqlReservationCounters(database.db), holdTtlMs })));
  return { factory, counting: () => counting! };
}

describe.each(PAIRS)('checkout on %s with Redis through Upstash’s client', (backend) => {
  let upstash: UpstashRestServer;
  let stage: CheckoutStage;
  beforeAll(async () => {
    upstash = await UpstashRestServer.create({ redis: { host: '127.0.0.1', port: 6379 }, token: TOKEN });
  });
  afterAll(() => upstash.close());
  afterEach(async () => {
    if (!stage) return;
    const redis = upstashClient(upstash.url);
    const keys = await redis.keys(`stock:{${stage.product.id}}:*`);
    if (keys.length) await redis.del(...keys);
    await stage.close();
  });

  it('never oversells, and turns the losers away in Redis without touching SQL', async () => {
    const fast = reservationsOver(upstash.url);
    stage = await CheckoutStage.create({ backend, stock: 10, reservations: fast.factory });
    const buyers = await stage.buyers(60);
    const statuses = await Promise.all(buyers.map(async (buyer) => (await stage.checkout(buyer)).status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(50);
    expect(await stage.stock()).toBe(0);
    expect(await stage.orderCount()).toBe(10);
    const decided = fast.counting().outcomes;
    expect(decided.filter((o) => o === 'held')).toHaveLength(10);
    expect(decided.filter((o) => o === 'refused')).toHaveLength(50);
  });

  it('holds a flash deal’s limits in Redis too', async () => {
    const fast = reservationsOver(upstash.url);
    stage = await CheckoutStage.create({ backend, stock: 50, deal: { priceAmount: 2500, totalLimit: 4, perBuyerLimit: 2 }, reservations: fast.factory });
    const [a, b, c] = await stage.buyers(3);
    await stage.buy(a!, { quantity: 2 });
    expect((await stage.checkout(a!, { allowAnother: true })).status).toBe(409);
    await stage.buy(b!, { quantity: 2 });
    expect((await stage.checkout(c!)).status).toBe(409);
    expect(await stage.stock()).toBe(46);
    expect(fast.counting().outcomes).toEqual(['held', 'refused', 'held', 'refused']);
  });

  it('gives back the units of a hold whose commit never came, once it lapses', async () => {
    const fast = reservationsOver(upstash.url, 2_000);
    stage = await CheckoutStage.create({ backend, stock: 1, reservations: fast.factory });
    const [buyer] = await stage.buyers(1);
    // A checkout that died between its reservation and its SQL commit.
    const orphan = await fast.counting().reserve({ productId: stage.product.id, showId: stage.show.id, buyerId: 'crashed', quantity: 1, deal: null, now: stage.now() });
    expect(orphan.status).toBe('held');
    expect((await stage.checkout(buyer!)).status).toBe(409);
    stage.advance(2_100);
    expect((await stage.checkout(buyer!)).status).toBe(201);
    expect(await stage.stock()).toBe(0);
  });

  it('puts cancelled units back on sale in Redis as well as in SQL', async () => {
    const fast = reservationsOver(upstash.url);
    stage = await CheckoutStage.create({ backend, stock: 1, reservations: fast.factory });
    const [first, second] = await stage.buyers(2);
    const order = await stage.buy(first!);
    expect((await stage.checkout(second!)).status).toBe(409);
    await stage.t.app.request(`/v1/orders/${order.order.id}/cancel`, { method: 'POST', headers: first!.headers });
    expect((await stage.checkout(second!)).status).toBe(201);
  });

  it('answers a repeated Idempotency-Key without holding twice', async () => {
    const fast = reservationsOver(upstash.url);
    stage = await CheckoutStage.create({ backend, stock: 3, reservations: fast.factory });
    const [buyer] = await stage.buyers(1);
    const key = crypto.randomUUID();
    const statuses = [(await stage.checkout(buyer!, { key })).status, (await stage.checkout(buyer!, { key })).status];
    expect(statuses).toEqual([201, 200]);
    expect(fast.counting().outcomes).toEqual(['held']);
    expect(await stage.stock()).toBe(2);
  });
});

describe.each(PAIRS)('checkout on %s when its Redis is flushed or stops mid-burst', (backend) => {
  let redis: RunningProcess;
  let upstash: UpstashRestServer;
  let stage: CheckoutStage;
  beforeAll(async () => {
    const port = await freePort();
    redis = startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await redis.waitForOutput(/Ready to accept connections/);
    upstash = await UpstashRestServer.create({ redis: { host: '127.0.0.1', port }, token: TOKEN });
  });
  afterAll(async () => {
    await upstash.close();
    await redis.stop();
  });
  afterEach(() => stage?.close());

  /** Buys in waves, runs `midway` between them, then pays every order: nothing oversold, nothing paid lost. */
  async function burst(midway: () => Promise<void>) {
    const fast = reservationsOver(upstash.url);
    stage = await CheckoutStage.create({ backend, stock: 20, reservations: fast.factory });
    const buyers = await stage.buyers(80);
    const results = await Promise.all(buyers.slice(0, 40).map((buyer) => stage.checkout(buyer)));
    await midway();
    results.push(...(await Promise.all(buyers.slice(40).map((buyer) => stage.checkout(buyer)))));
    const created = results.filter((r) => r.status === 201);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(created).toHaveLength(20);
    expect(await stage.stock()).toBe(0);
    const paid = await Promise.all(created.map(async (response) => (await stage.pay((await response.json()) as never)).status));
    expect(paid.every((s) => s === 200)).toBe(true);
    expect(await stage.orderCount('paid')).toBe(20);
    return fast.counting().outcomes;
  }

  it('sells no unit twice when Redis is flushed', async () => {
    await burst(async () => {
      await upstashClient(upstash.url).flushall();
    });
  });

  it('sells no unit twice and loses no paid order when Redis stops', async () => {
    const outcomes = await burst(() => redis.stop());
    // After the stop every buyer went to the SQL guard alone.
    expect(outcomes.length).toBeLessThanOrEqual(40);
  });
});
