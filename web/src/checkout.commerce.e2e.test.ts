/**
 * Buying from a live show end to end, in Chromium against the production build and the real edge
 * API (PGlite, demo seed): pinned products with live stock on the show page, one-tap buy with the
 * sandbox card, the order confirmation, and what a second shopper sees once the last unit is gone.
 */
import { randomUUID } from 'node:crypto';
import { OrderList, Product, Session, ShowList } from '@mytaek1/contracts';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from './testing/e2e-stack.ts';

let stack: E2eStack | undefined;
let webUrl: string;
let showId: string;
/** One unit only: the first buyer gets it, everyone after is told it is sold out. */
let lastOne: Product;
/** Plenty of units, for the flows that need a product still on sale. */
let plenty: Product;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await startE2eStack();
  webUrl = stack.webUrl;

  // The demo seller, through the edge API as any API consumer would: go live and pin two products.
  const asSeller = Session.parse(await edgeApi('POST', '/v1/auth/login', { email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password })).token;
  showId = ShowList.parse(await edgeApi('GET', '/v1/shows')).upcoming[0]!.id;
  await edgeApi('POST', `/v1/shows/${showId}/live`, undefined, asSeller);
  lastOne = Product.parse(await edgeApi('POST', '/v1/products', { title: 'Wool scarf, rust', price: { amount: 4500, currency: 'USD' }, stock: 1 }, asSeller));
  plenty = Product.parse(await edgeApi('POST', '/v1/products', { title: 'Canvas cap, olive', price: { amount: 2200, currency: 'USD' }, stock: 30 }, asSeller));
  for (const product of [lastOne, plenty]) await edgeApi('PUT', `/v1/shows/${showId}/pins/${product.id}`, {}, asSeller);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await stack?.close();
});

describe('buying a pinned product from a live show', () => {
  it('takes the demo shopper from Buy to a paid confirmation; a second shopper then sees it sold out and is refused', async () => {
    // The second shopper opens the show first, so the sold-out state has to reach an open page.
    const second = await shopperPage(await signedUpContext());
    await openShow(second);
    const secondCard = productCard(second, lastOne);
    expect(await secondCard.locator('.stock').innerText()).toBe('1 left');

    const first = await shopperPage(await demoShopperContext());
    await openShow(first);
    const card = productCard(first, lastOne);
    expect(await card.locator('h3').innerText()).toBe('Wool scarf, rust');
    expect(await card.locator('.price').innerText()).toBe('$45.00');
    expect(await card.locator('.stock').innerText()).toBe('1 left');

    await card.getByRole('button', { name: 'Buy Wool scarf, rust' }).click();
    const sheet = card.getByRole('form', { name: 'Pay for your order' });
    await sheet.waitFor();
    expect(await sheet.getByLabel('Card number').inputValue()).toBe('4242 4242 4242 4242');
    expect(await sheet.locator('.pay-by').innerText()).toMatch(/^Held for you for \d+:\d\d$/);
    await sheet.getByRole('button', { name: 'Pay $45.00' }).click();

    await first.waitForURL(/\/orders\/[0-9a-f-]{36}\?from=checkout$/);
    const confirmation = first.locator('article.order');
    await expect.poll(() => confirmation.getAttribute('data-status')).toBe('paid');
    expect(await first.locator('h1').innerText()).toBe('Thank you! Your order is paid.');
    expect(await confirmation.innerText()).toContain('Wool scarf, rust');
    expect(await confirmation.locator('.total').innerText()).toBe('$45.00');
    // What the page says is what the API holds.
    const firstOrders = OrderList.parse(await (await first.context().request.get(`${webUrl}/api/v1/orders`)).json()).orders;
    expect(firstOrders.map((o) => [o.productId, o.status])).toEqual([[lastOne.id, 'paid']]);
    expect(first.url()).toContain(firstOrders[0]!.id);

    // The open page of the second shopper learns it is gone without a reload, within a few seconds.
    await expect.poll(() => secondCard.locator('.stock').innerText(), { timeout: 6_000, interval: 250 }).toBe('Sold out');
    await secondCard.getByRole('button', { name: 'Buy Wool scarf, rust' }).click();
    await expect.poll(() => secondCard.getByRole('alert').innerText()).toBe('Sold out: every unit has been bought.');
    const secondOrders = OrderList.parse(await (await second.context().request.get(`${webUrl}/api/v1/orders`)).json()).orders;
    expect(secondOrders).toEqual([]);
    expect(Product.parse(await edgeApi('GET', `/v1/products/${lastOne.id}`)).stock).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('says a declined card was declined, takes another card, and lists the order as paid', async () => {
    const page = await shopperPage(await signedUpContext());
    await openShow(page);
    const card = productCard(page, plenty);
    await card.getByRole('button', { name: 'Buy Canvas cap, olive' }).click();
    const sheet = card.getByRole('form', { name: 'Pay for your order' });
    const cardNumber = sheet.getByLabel('Card number');
    await cardNumber.fill('4000 0000 0000 0002');
    await sheet.getByRole('button', { name: 'Pay $22.00' }).click();
    await expect.poll(() => sheet.getByRole('alert').innerText()).toBe('Your card was declined. Try another card.');
    // Declined leaves the order waiting, and the field ready for another number.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('autocomplete'))).toBe('cc-number');
    await cardNumber.fill('4242424242424242');
    expect(await cardNumber.inputValue()).toBe('4242 4242 4242 4242');
    await sheet.getByRole('button', { name: 'Pay $22.00' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}\?from=checkout$/);
    await expect.poll(() => page.locator('article.order').getAttribute('data-status')).toBe('paid');

    await page.getByRole('link', { name: 'All your orders' }).click();
    await page.waitForURL(`${webUrl}/orders`);
    const rows = page.locator('ul.orders > li');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().innerText()).toMatch(/Canvas cap, olive[\s\S]*Paid[\s\S]*\$22\.00/i);
    expect(pageErrors).toEqual([]);
  });

  it('offers an unpaid order back instead of a second one, or another on request', async () => {
    const page = await shopperPage(await signedUpContext());
    await openShow(page);
    const card = productCard(page, plenty);
    await card.getByRole('button', { name: 'Buy Canvas cap, olive' }).click();
    await card.getByRole('form', { name: 'Pay for your order' }).waitFor();
    // A reload drops the sheet; the unpaid order (holding a unit) remains.
    await openShow(page);
    await card.getByRole('button', { name: 'Buy Canvas cap, olive' }).click();
    await expect.poll(() => card.getByRole('alert').innerText()).toMatch(/^You already have an unpaid order for this product\./);
    const viewUnpaid = card.getByRole('link', { name: 'View your unpaid order' });
    await expect.poll(() => viewUnpaid.getAttribute('href')).toMatch(/^\/orders\/[0-9a-f-]{36}$/);

    // Its order page can pay it (the same checkout, replayed with its key) or cancel it.
    await viewUnpaid.click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    expect(await page.locator('h1').innerText()).toBe('Your order is waiting for payment');
    expect(await page.locator('.pay-by').innerText()).toMatch(/^Pay within \d+:\d\d/);
    await page.getByRole('button', { name: 'Pay now' }).click();
    await page.getByRole('button', { name: 'Pay $22.00' }).click();
    await expect.poll(() => page.locator('article.order').getAttribute('data-status')).toBe('paid');

    await openShow(page);
    const before = Product.parse(await edgeApi('GET', `/v1/products/${plenty.id}`)).stock;
    await card.getByRole('button', { name: 'Buy Canvas cap, olive' }).click();
    await card.getByRole('form', { name: 'Pay for your order' }).waitFor();
    await openShow(page);
    await card.getByRole('button', { name: 'Buy Canvas cap, olive' }).click();
    await card.getByRole('button', { name: 'Buy another' }).click();
    await card.getByRole('form', { name: 'Pay for your order' }).waitFor();
    const orders = OrderList.parse(await (await page.context().request.get(`${webUrl}/api/v1/orders`)).json()).orders;
    expect(orders.map((o) => o.status)).toEqual(['pending', 'pending', 'paid']);
    expect(Product.parse(await edgeApi('GET', `/v1/products/${plenty.id}`)).stock).toBe(before - 2);
    expect(pageErrors).toEqual([]);
  });

  it('sends a signed-out visitor to sign in, coming back to the show', async () => {
    const context = await stack!.browser.newContext();
    contexts.push(context);
    const page = await shopperPage(context);
    await openShow(page);
    await productCard(page, plenty).getByRole('button', { name: 'Buy Canvas cap, olive' }).click();
    await page.waitForURL(/\/login\?/);
    expect(new URL(page.url()).searchParams.get('redirectTo')).toBe(`/shows/${showId}`);
  });
});

/** Calls the edge API directly, as an API consumer; a refusal fails the test with the API's words. */
async function edgeApi(method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const response = await fetch(`${stack!.edgeApi.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** A browser context signed in as the demo shopper (the session cookie set through the site's /api). */
async function demoShopperContext(): Promise<BrowserContext> {
  const context = await stack!.browser.newContext();
  contexts.push(context);
  const login = await context.request.post(`${webUrl}/api/v1/auth/login`, { data: { email: DEMO_LOGINS.shopper.email, password: DEMO_LOGINS.shopper.password } });
  expect(login.status()).toBe(200);
  return context;
}

/** A browser context signed in as a shopper who just signed up. */
async function signedUpContext(): Promise<BrowserContext> {
  const context = await stack!.browser.newContext();
  contexts.push(context);
  const signup = await context.request.post(`${webUrl}/api/v1/auth/signup`, {
    data: { email: `shopper-${randomUUID()}@example.test`, password: 'correct horse battery', displayName: 'Ana' },
  });
  expect(signup.status()).toBe(201);
  return context;
}

/** A page whose uncaught errors fail the test. The player's failed connection to an sfu this test does not run is expected. */
async function shopperPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function openShow(page: Page): Promise<void> {
  const response = await page.goto(`${webUrl}/shows/${showId}`);
  expect(response?.status()).toBe(200);
  // Buy is enabled once the page's script runs; only then do the stock updates start.
  await page.locator('article.pin button.buy:enabled').first().waitFor();
}

function productCard(page: Page, product: Product): Locator {
  return page.locator(`article.pin[data-product-id="${product.id}"]`);
}
