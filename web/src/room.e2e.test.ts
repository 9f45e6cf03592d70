/**
 * The show's realtime room in Chromium, end to end: the production build, the real edge API (PGlite,
 * demo seed) and its Node room hub. Two shoppers on the seeded show, live, see each other's chat and
 * hearts, and the stock tick down when one of them buys; the seller moderates from the broadcast
 * page; a visitor who is not signed in reads along; the layout holds on a phone.
 */
import { randomUUID } from 'node:crypto';
import { Product, Session, ShowList } from '@mytaek1/contracts';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import type { BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from './testing/e2e-stack.ts';

let stack: E2eStack | undefined;
let webUrl: string;
let showId: string;
/** Three units: every purchase shows on the other shopper's card. */
let scarce: Product;
const contexts: BrowserContext[] = [];
/** The room announces the viewer count at most once a second (REALTIME_LIMITS.viewersDebounceMs): wait longer than that. */
const VIEWERS_POLL = { timeout: 10_000, interval: 250 };
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await startE2eStack();
  webUrl = stack.webUrl;
  // The demo seller takes the seeded show live and pins a product with three units.
  const asSeller = Session.parse(await edgeApi('POST', '/v1/auth/login', { email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password })).token;
  showId = ShowList.parse(await edgeApi('GET', '/v1/shows')).upcoming[0]!.id;
  await edgeApi('POST', `/v1/shows/${showId}/live`, undefined, asSeller);
  scarce = Product.parse(await edgeApi('POST', '/v1/products', { title: 'Silk scarf, teal', price: { amount: 3900, currency: 'USD' }, stock: 3 }, asSeller));
  await edgeApi('PUT', `/v1/shows/${showId}/pins/${scarce.id}`, {}, asSeller);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await stack?.close();
});

describe('the realtime room on the show page', () => {
  it('lets two shoppers see each other’s chat and hearts and the stock tick down when one buys, and the seller the order come in, without a reload', async () => {
    const ana = await openShow(await shopperContext('Ana'));
    const ben = await openShow(await shopperContext('Ben'));
    // Once in the room, Ana's pins come from it: the page stops polling the pins route.
    const polls: string[] = [];
    ana.on('request', (request) => {
      if (new URL(request.url()).pathname === `/api/v1/shows/${showId}/pins`) polls.push(request.url());
    });
    await expect.poll(() => ana.locator('.room-bar .viewer-count').innerText(), VIEWERS_POLL).toBe('2');

    await say(ana, 'Hello from Ana');
    const seen = chatMessage(ben, 'Hello from Ana');
    await seen.waitFor();
    expect(await seen.locator('.name').innerText()).toBe('Ana');
    expect(Date.parse((await seen.locator('time').getAttribute('datetime')) ?? '')).not.toBeNaN();
    await say(ben, 'Hi Ana!');
    await chatMessage(ana, 'Hi Ana!').waitFor();

    // Ana taps the heart three times: they float on Ben's screen and count on both.
    const heart = ana.getByRole('button', { name: 'Send a heart' });
    for (let i = 0; i < 3; i++) await heart.click();
    await expect.poll(() => ben.locator('.room-bar').getAttribute('data-hearts-from-others')).toBe('3');
    await expect.poll(() => ben.locator('.room-bar .heart-count').innerText()).toBe('3');
    await expect.poll(() => ana.locator('.room-bar .heart-count').innerText()).toBe('3');
    // Her own taps are not floated twice on her own screen.
    expect(await ana.locator('.room-bar').getAttribute('data-hearts-from-others')).toBe('0');

    // The seller watches the orders come in on the broadcast page.
    const seller = await sellerPage();
    const orders = seller.getByRole('log', { name: 'Orders, newest first' });
    expect(await seller.locator('.orders .summary').innerText()).toBe('No paid orders yet');

    // Ben buys one: Ana's card ticks down from the room's stock event.
    const anaCard = productCard(ana, scarce);
    expect(await anaCard.locator('.stock').innerText()).toBe('3 left');
    const benCard = productCard(ben, scarce);
    await benCard.getByRole('button', { name: 'Buy Silk scarf, teal' }).click();
    await benCard.getByRole('button', { name: 'Pay $39.00' }).click();
    await ben.waitForURL(/\/orders\/[0-9a-f-]{36}\?from=checkout$/);
    await expect.poll(() => anaCard.locator('.stock').innerText()).toBe('2 left');
    expect(polls).toEqual([]);
    // …and the seller's feed lists it, paid, with what it came to, without a reload.
    await expect.poll(() => seller.locator('.orders .summary').innerText()).toBe('1 paid order · $39.00');
    const order = orders.locator('li').first();
    expect(await order.getAttribute('data-status')).toBe('paid');
    expect(await order.locator('.what').innerText()).toBe('1 × Silk scarf, teal');
    expect(await order.locator('.total').innerText()).toBe('$39.00');
    expect(await order.locator('.status').innerText()).toBe('Paid');
    await seller.context().close();
    // Ben left for his order page: the room counts one viewer again.
    await expect.poll(() => ana.locator('.room-bar .viewer-count').innerText(), VIEWERS_POLL).toBe('1');
    expect(pageErrors).toEqual([]);
  });

  it('tells a shopper who chats too fast when to try again, and keeps the refused text', async () => {
    const page = await openShow(await shopperContext('Quick'));
    const alert = composerAlert(page);
    for (let i = 1; i <= 6 && (await alert.innerText()) === ''; i++) await say(page, `message number ${i}`);
    await expect.poll(() => alert.innerText()).toMatch(/^You are sending messages too fast\. Try again in \d+ seconds?\.$/);
    expect(await page.getByLabel('Message', { exact: true }).inputValue()).toBe('message number 6');
    expect(pageErrors).toEqual([]);
  });

  it('lets the seller delete a message, mute, ban and let back in from the broadcast page, and the shopper is told clearly', async () => {
    const seller = await sellerPage();
    const ana = await openShow(await shopperContext('Ana M'));
    const panel = seller.getByRole('region', { name: 'Chat and moderation' });

    await say(ana, 'visit my other shop');
    await moderate(seller, 'visit my other shop', 'Delete message');
    await expect.poll(() => chatMessage(ana, 'visit my other shop').count()).toBe(0);
    await expect.poll(() => chatMessage(seller, 'visit my other shop').count()).toBe(0);
    await expect.poll(() => panel.locator('.log li').first().innerText()).toMatch(/Mina’s Closet deleted a message by Ana M$/);

    await say(ana, 'why was that deleted?');
    await moderate(seller, 'why was that deleted?', 'Mute 10 minutes');
    await expect.poll(() => composerAlert(ana).innerText()).toMatch(/^A moderator muted you\. You can chat again in (10|9) minutes\.$/);
    expect(await ana.getByLabel('Message', { exact: true }).isDisabled()).toBe(true);
    await expect.poll(() => panel.locator('.log li').first().innerText()).toMatch(/Mina’s Closet muted Ana M for 10 minutes$/);

    const ben = await openShow(await shopperContext('Ben B'));
    await say(ben, 'spam spam spam');
    await moderate(seller, 'spam spam spam', 'Ban Ben B');
    await expect.poll(() => ben.locator('.composer [role="alert"]').innerText()).toBe('A moderator removed you from this chat.');
    await expect.poll(() => panel.locator('.log li').first().innerText()).toMatch(/Mina’s Closet banned Ben B\s+Let Ben B back in$/);
    // The banned shopper's earlier message stays (a ban is not a delete), and a reload does not let him back in.
    await ben.reload();
    await expect.poll(() => ben.locator('.composer [role="alert"]').innerText()).toBe('A moderator removed you from this chat.');

    // The seller changes her mind: Ben is let back in, and after a reload he chats again.
    await panel.getByRole('button', { name: 'Let Ben B back in' }).click();
    await expect.poll(() => panel.locator('.log li').first().innerText()).toMatch(/Mina’s Closet let Ben B back in$/);
    expect(await panel.getByRole('button', { name: /back in$/ }).count()).toBe(0);
    await ben.reload();
    await ben.locator('section.chat input:enabled').waitFor();
    await say(ben, 'sorry about that');
    await chatMessage(ana, 'sorry about that').waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('follows new messages, but leaves a reader who scrolled up where they are and offers the way back down', async () => {
    // The seller is a moderator, whom the room does not rate-limit: enough messages to scroll.
    const seller = await sellerPage();
    const reader = await openShow(await shopperContext('Reader'));
    for (let i = 1; i <= 20; i++) await say(seller, `line ${i}`);
    await chatMessage(reader, 'line 20').waitFor();
    const scroller = reader.locator('section.chat .scroller');
    const distanceFromEnd = () => scroller.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight);
    await expect.poll(distanceFromEnd).toBeLessThan(2);

    await scroller.evaluate((element) => element.scrollTo({ top: 0 }));
    await say(seller, 'line 21');
    await chatMessage(reader, 'line 21').waitFor();
    const jump = reader.getByRole('button', { name: '1 new message ↓' });
    await jump.waitFor();
    expect(await scroller.evaluate((element) => element.scrollTop)).toBe(0);
    await jump.click();
    await expect.poll(distanceFromEnd).toBeLessThan(2);
    expect(await jump.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('lets a visitor who is not signed in read the chat, and asks them to log in to chat and send hearts', async () => {
    const speaker = await openShow(await shopperContext('Dana'));
    const context = await newContext();
    const visitor = await watch(context);
    await visitor.getByRole('log', { name: 'Chat messages' }).waitFor({ state: 'attached' });
    await visitor.locator('section.chat[data-phase="live"]').waitFor();
    const login = visitor.getByRole('link', { name: 'Log in to chat' });
    expect(new URL(`${webUrl}${await login.getAttribute('href')}`).searchParams.get('redirectTo')).toBe(`/shows/${showId}`);
    expect(await visitor.getByRole('link', { name: 'Log in to send hearts' }).count()).toBe(1);
    expect(await visitor.getByLabel('Message', { exact: true }).count()).toBe(0);
    await expect.poll(() => visitor.locator('.room-bar .viewer-count').innerText()).not.toBe('0');

    await say(speaker, 'can the guest see this?');
    await chatMessage(visitor, 'can the guest see this?').waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('fits a phone: stage, hearts and viewers, the chat, then the products, with nothing wider than the screen', async () => {
    const context = await shopperContext('Phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await openShow(context);
    await say(page, 'from my phone');
    await chatMessage(page, 'from my phone').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const top = (locator: Locator) => locator.evaluate((element) => element.getBoundingClientRect().top);
    const [stage, bar, chat, products] = await Promise.all([top(page.locator('.stage')), top(page.locator('.room-bar')), top(page.locator('section.chat')), top(page.locator('section.pinned'))]);
    expect(stage < bar && bar < chat && chat < products).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------

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

async function newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await stack!.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  contexts.push(context);
  return context;
}

/** A browser context signed in as a shopper who just signed up under `displayName`. */
async function shopperContext(displayName: string, options?: BrowserContextOptions): Promise<BrowserContext> {
  const context = await newContext(options);
  const signup = await context.request.post(`${webUrl}/api/v1/auth/signup`, { data: { email: `shopper-${randomUUID()}@example.test`, password: 'correct horse battery', displayName } });
  expect(signup.status()).toBe(201);
  return context;
}

/** A page whose uncaught errors fail the test (the player's failed connection to an sfu this test does not run is expected, and not one). */
async function watch(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  const response = await page.goto(`${webUrl}/shows/${showId}`);
  expect(response?.status()).toBe(200);
  return page;
}

/** The show page, once its script runs and the room has let this shopper in (the composer is enabled). */
async function openShow(context: BrowserContext): Promise<Page> {
  const page = await watch(context);
  await page.locator('section.chat input:enabled').waitFor();
  await page.locator('section.chat[data-phase="live"]').waitFor();
  return page;
}

/** The demo seller on the show's broadcast page, its chat joined as moderator. */
async function sellerPage(): Promise<Page> {
  const context = await newContext();
  const login = await context.request.post(`${webUrl}/api/v1/auth/login`, { data: { email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password } });
  expect(login.status()).toBe(200);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${webUrl}/shows/${showId}/broadcast`);
  await page.getByRole('region', { name: 'Chat and moderation' }).locator('section.chat[data-phase="live"]').waitFor();
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  const input = page.getByLabel('Message', { exact: true });
  await input.fill(text);
  await input.press('Enter');
}

function chatMessage(page: Page, text: string): Locator {
  return page.getByRole('log', { name: 'Chat messages' }).locator('li').filter({ has: page.locator('p.text', { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });
}

function composerAlert(page: Page): Locator {
  return page.locator('section.chat .composer [role="alert"]');
}

/** Opens the moderation menu of the message saying `text` and picks `action`. */
async function moderate(seller: Page, text: string, action: string): Promise<void> {
  const message = chatMessage(seller, text);
  await message.waitFor();
  await message.locator('summary').click();
  await message.getByRole('button', { name: action }).click();
}

function productCard(page: Page, product: Product): Locator {
  return page.locator(`article.pin[data-product-id="${product.id}"]`);
}
