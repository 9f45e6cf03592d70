import { UpstashRestServer } from '@mytaek1/local-cloud';
import { Redis } from '@upstash/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CheckoutStage } from '../testing/checkout-fixture.ts';
import { InProcessProductLocks, UpstashProductLocks } from './lock-per-product.ts';

// The benchmark's baseline must be a fair one: correct while its lock holds, just slow.
describe('the lock-per-product baseline', () => {
  let upstash: UpstashRestServer;
  let stage: CheckoutStage;
  beforeAll(async () => {
    upstash = await UpstashRestServer.create({ redis: { host: '127.0.0.1', port: 6379 }, token: 'baseline' });
  });
  afterAll(() => upstash.close());
  afterEach(() => stage?.close());

  it('serialises a rush through an in-process lock without overselling', async () => {
    stage = await CheckoutStage.create({ backend: 'pglite', stock: 5, baselineLocks: new InProcessProductLocks() });
    const statuses = await Promise.all((await stage.buyers(15)).map(async (buyer) => (await stage.checkout(buyer)).status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(await stage.stock()).toBe(0);
  });

  it('serialises a rush through @upstash/lock without overselling', async () => {
    const locks = new UpstashProductLocks(new Redis({ url: upstash.url, token: 'baseline', enableTelemetry: false }));
    stage = await CheckoutStage.create({ backend: 'planetscale-mariadb', stock: 5, baselineLocks: locks });
    const statuses = await Promise.all((await stage.buyers(15)).map(async (buyer) => (await stage.checkout(buyer)).status));
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(await stage.stock()).toBe(0);
    expect(await stage.orderCount()).toBe(5);
  });
});
