/**
 * Accounts and the seller studio end to end, through the production build in Chromium: every step
 * is a form submitted the way a person submits it, and what the page says is checked against what
 * the edge API then holds.
 */
import { PinList, Product, ProductList, Show, ShowList, StreamKey, User } from '@mytaek1/contracts';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import type { APIRequestContext, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from './testing/e2e-stack.ts';

let stack: E2eStack | undefined;
let webUrl: string;

beforeAll(async () => {
  stack = await startE2eStack();
  webUrl = stack.webUrl;
});

afterAll(async () => {
  await stack?.close();
});

/** A visitor of its own (cookies, time zone); pages run JavaScript unless told otherwise. */
async function newVisitor(options: { timezoneId?: string; javaScriptEnabled?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; pageErrors: string[] }> {
  const context = await stack!.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // "End show" asks before ending; the visitor says yes.
  page.on('dialog', (dialog) => void dialog.accept());
  return { context, page, pageErrors };
}

/** The edge API as this visitor's cookies make it answer, through the site's /api proxy. */
async function apiJson(request: APIRequestContext, path: string): Promise<unknown> {
  const response = await request.get(`${webUrl}/api${path}`);
  expect(response.status(), `GET ${path}`).toBe(200);
  return response.json();
}

/** The text of the elements a field's aria-describedby names: its error, then its hint. */
async function descriptionOf(field: Locator): Promise<string> {
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
  const texts = await Promise.all(ids.map((id) => field.page().locator(`[id="${id}"]`).innerText()));
  return texts.join(' ');
}

/** The answer to the next form post that loads a whole page (a submission without JavaScript). */
const documentPost = (page: Page) => page.waitForResponse((response) => response.request().method() === 'POST' && response.request().resourceType() === 'document');

const isFocused = (field: Locator) => field.evaluate((element) => element === document.activeElement);

/** Creates an account straight through the API, for tests that are not about signing up. */
async function createAccount(role: 'shopper' | 'seller'): Promise<{ email: string; password: string }> {
  const account = { email: `${role}-${crypto.randomUUID()}@example.test`, password: 'correct horse battery' };
  const response = await fetch(`${webUrl}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...account, displayName: `Test ${role}`, role }),
  });
  expect(response.status).toBe(201);
  return account;
}

describe('the seller studio', () => {
  it('takes a new seller from sign-up through a product, a show, a flash deal, a stream key and a live show, to signing out', async () => {
    // A zone far from UTC: times typed into the forms must be read in the seller's zone, not the server's.
    const { context, page, pageErrors } = await newVisitor({ timezoneId: 'Asia/Seoul' });
    const sellerName = `Rain Studio ${crypto.randomUUID().slice(0, 6)}`;

    // Sign up, wanting to sell: the session cookie the API set arrives, and the studio opens.
    await page.goto(`${webUrl}/signup`);
    await page.getByLabel('Email').fill(`seller-${crypto.randomUUID()}@example.test`);
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByLabel('Display name').fill(sellerName);
    await page.getByLabel('I want to sell').check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${webUrl}/studio`, { waitUntil: 'networkidle' });
    const header = page.locator('header.site-header');
    await expect.poll(() => header.innerText()).toContain(sellerName);
    expect(await header.getByRole('link', { name: 'Studio' }).count()).toBe(1);
    const seller = User.parse(await apiJson(context.request, '/v1/auth/me'));
    expect(seller).toMatchObject({ displayName: sellerName, role: 'seller' });

    // A product whose title is only spaces: the API refuses it, and says so next to the Title field.
    const createProduct = page.locator('form[action="?/createProduct"]');
    const productTitle = createProduct.getByLabel('Title');
    await productTitle.fill('   ');
    await createProduct.getByLabel('Price').fill('29.00');
    await createProduct.getByLabel('Stock').fill('12');
    await createProduct.getByRole('button', { name: 'Add product' }).click();
    await expect.poll(() => productTitle.getAttribute('aria-invalid')).toBe('true');
    expect(await descriptionOf(productTitle)).toMatch(/must not be empty/i);
    expect(await isFocused(productTitle)).toBe(true);
    expect(await createProduct.getByLabel('Price').inputValue()).toBe('29.00');
    expect(ProductList.parse(await apiJson(context.request, `/v1/products?sellerId=${seller.id}`)).products).toEqual([]);

    await productTitle.fill('Rain jacket, olive');
    await createProduct.getByRole('button', { name: 'Add product' }).click();
    const productRow = page.locator('.product', { hasText: 'Rain jacket, olive' });
    await expect.poll(() => productRow.count()).toBe(1);
    expect(await productRow.innerText()).toContain('$29.00');
    expect(await productTitle.getAttribute('aria-invalid')).toBeNull();
    const [product] = ProductList.parse(await apiJson(context.request, `/v1/products?sellerId=${seller.id}`)).products;
    expect(product).toMatchObject({ title: 'Rain jacket, olive', price: { amount: 2900, currency: 'USD' }, stock: 12 });

    // Schedule a show for 18:30 Seoul time, which is 09:30 UTC.
    const schedule = page.locator('form[action="?/scheduleShow"]');
    expect(await schedule.innerText()).toContain('Asia/Seoul');
    await schedule.getByLabel('Title').fill('Rainy day picks');
    await schedule.getByLabel('Starts at').fill('2030-01-15T18:30');
    await schedule.getByRole('button', { name: 'Schedule show' }).click();
    const showCard = page.locator('article.studio-show', { hasText: 'Rainy day picks' });
    await expect.poll(() => showCard.count()).toBe(1);
    const show = ShowList.parse(await apiJson(context.request, '/v1/shows')).upcoming.find((s) => s.title === 'Rainy day picks');
    expect(show).toMatchObject({ sellerId: seller.id, status: 'scheduled', scheduledAt: '2030-01-15T09:30:00.000Z' });

    // Pin the product as a flash deal: $19.00 until 20:00 Seoul time, 10 units, 2 per buyer.
    const pinForm = showCard.locator('form[action="?/pin"]');
    await pinForm.getByLabel('Product to pin').selectOption({ label: 'Rain jacket, olive · $29.00' });
    await pinForm.getByText('Make it a flash deal').click();
    await pinForm.getByLabel('Deal price').fill('19.00');
    await pinForm.getByLabel('Ends').fill('2030-01-15T20:00');
    await pinForm.getByLabel('Total units').fill('10');
    await pinForm.getByLabel('Per buyer').fill('2');
    await pinForm.getByRole('button', { name: 'Pin product' }).click();
    await expect.poll(() => showCard.innerText()).toContain('is pinned as a flash deal');
    const pinnedRow = showCard.locator('.pin', { hasText: 'Rain jacket, olive' });
    expect(await pinnedRow.innerText()).toMatch(/Flash deal\s+\$19\.00/i);
    const [pin] = PinList.parse(await apiJson(context.request, `/v1/shows/${show!.id}/pins`)).pins;
    expect(pin).toMatchObject({
      productId: product!.id,
      slot: 1,
      flashDeal: { price: { amount: 1900, currency: 'USD' }, endsAt: '2030-01-15T11:00:00.000Z', totalLimit: 10, perBuyerLimit: 2 },
    });

    // A stream key: created, revealed, then replaced (which asks for a tick first).
    await page.getByRole('button', { name: 'Create stream key' }).click();
    await expect.poll(() => page.locator('#stream').innerText()).toContain('Stream key created');
    const keyText = page.locator('[data-stream-key]');
    expect(await keyText.isVisible()).toBe(false);
    await page.getByText('Show stream key').click();
    expect(await keyText.isVisible()).toBe(true);
    const firstKey = StreamKey.parse(await apiJson(context.request, '/v1/stream-key'));
    expect(await keyText.innerText()).toBe(firstKey.streamKey);
    expect(await page.locator('[data-rtmp-url]').innerText()).toBe(firstKey.rtmpUrl);

    await page.getByLabel('I understand OBS stops publishing until I paste a new key').check();
    await page.getByRole('button', { name: 'Replace key' }).click();
    await expect.poll(() => page.locator('#stream').innerText()).toContain('New stream key issued');
    const secondKey = StreamKey.parse(await apiJson(context.request, '/v1/stream-key'));
    expect(secondKey.streamKey).not.toBe(firstKey.streamKey);
    await expect.poll(() => keyText.innerText()).toBe(secondKey.streamKey);

    // Go live: the home page lists the show under Live now.
    await showCard.getByRole('button', { name: 'Go live' }).click();
    await expect.poll(() => showCard.innerText()).toContain('You are live');
    await page.goto(`${webUrl}/`);
    expect(await page.locator('#live').innerText()).toContain('Rainy day picks');

    // End it (the confirmation is accepted): it moves to Past shows.
    await page.goto(`${webUrl}/studio`);
    await page.locator('article.studio-show', { hasText: 'Rainy day picks' }).getByRole('button', { name: 'End show' }).click();
    await expect.poll(() => page.locator('#shows').innerText()).toContain('“Rainy day picks” has ended');
    expect(await page.locator('.past-shows').textContent()).toContain('Rainy day picks');
    expect(Show.parse(await apiJson(context.request, `/v1/shows/${show!.id}`)).status).toBe('ended');

    // Sign out from the header: the API's expired cookie reaches the browser, so the session is gone.
    await header.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${webUrl}/`);
    await expect.poll(() => header.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    expect((await context.request.get(`${webUrl}/api/v1/auth/me`)).status()).toBe(401);

    // The demo shopper signs in on the same browser; the studio refuses them.
    await page.goto(`${webUrl}/login`);
    await page.getByLabel('Email').fill(DEMO_LOGINS.shopper.email);
    await page.getByLabel('Password').fill(DEMO_LOGINS.shopper.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    await expect.poll(() => header.innerText()).toContain(DEMO_LOGINS.shopper.displayName);
    expect(await header.getByRole('link', { name: 'Studio' }).count()).toBe(0);
    const refused = await page.goto(`${webUrl}/studio`);
    expect(refused?.status()).toBe(403);
    expect(await page.locator('h1').innerText()).toBe('This page is not for your account');

    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('sends a signed-out visitor to sign in, then back to the studio, which lists the seller’s own catalogue and shows', async () => {
    const { context, page } = await newVisitor();
    await page.goto(`${webUrl}/studio`);
    await page.waitForURL(`${webUrl}/login?redirectTo=${encodeURIComponent('/studio')}`);
    await page.getByLabel('Email').fill(DEMO_LOGINS.seller.email);
    await page.getByLabel('Password').fill(DEMO_LOGINS.seller.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/studio`, { waitUntil: 'networkidle' });
    expect(await page.locator('#products').innerText()).toContain('Linen overshirt, sand');
    expect(await page.locator('#shows').innerText()).toContain('Autumn layers, live');
    // Another seller's show is not this seller's to run.
    expect(await page.locator('#shows').innerText()).not.toContain('Rainy day picks');
    await context.close();
  });

  it('pins a product at its own price and unpins it, edits its price typed as a decimal amount, and archives it', async () => {
    const account = await createAccount('seller');
    const { context, page } = await newVisitor();
    await page.goto(`${webUrl}/login`);
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/studio`, { waitUntil: 'networkidle' });

    const createProduct = page.locator('form[action="?/createProduct"]');
    await createProduct.getByLabel('Title').fill('Wool beanie');
    await createProduct.getByLabel('Price').fill('18');
    await createProduct.getByLabel('Stock').fill('30');
    await createProduct.getByRole('button', { name: 'Add product' }).click();
    const row = page.locator('.product', { hasText: 'Wool beanie' });
    await expect.poll(() => row.count()).toBe(1);

    // A show scheduled straight through the API (with this visitor's session), then a plain pin and an unpin.
    const scheduled = await context.request.post(`${webUrl}/api/v1/shows`, { data: { title: 'Knitwear hour', scheduledAt: new Date(Date.now() + 86_400_000).toISOString() } });
    expect(scheduled.status()).toBe(201);
    const show = Show.parse(await scheduled.json());
    await page.reload({ waitUntil: 'networkidle' }); // wait for hydration, which would reset a form used before it
    const showCard = page.locator('article.studio-show', { hasText: 'Knitwear hour' });
    await showCard.getByLabel('Product to pin').selectOption({ label: 'Wool beanie · $18.00' });
    await showCard.getByRole('button', { name: 'Pin product' }).click();
    await expect.poll(() => showCard.innerText()).toContain('“Wool beanie” is pinned.');
    expect(PinList.parse(await apiJson(context.request, `/v1/shows/${show.id}/pins`)).pins).toEqual([expect.objectContaining({ title: 'Wool beanie', flashDeal: null })]);
    await showCard.getByRole('button', { name: 'Unpin Wool beanie' }).click();
    await expect.poll(() => showCard.innerText()).toContain('Unpinned.');
    expect(PinList.parse(await apiJson(context.request, `/v1/shows/${show.id}/pins`)).pins).toEqual([]);

    // A price that is not an amount is refused here, before the API is asked, next to its field.
    await row.getByText('Edit').click();
    const price = row.getByLabel('Price');
    expect(await price.inputValue()).toBe('18.00');
    await price.fill('18,5');
    await row.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => price.getAttribute('aria-invalid')).toBe('true');
    expect(await descriptionOf(price)).toMatch(/amount such as 29\.00/i);

    await price.fill('1,250.5');
    await row.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => row.innerText()).toContain('Changes saved');
    expect(await row.innerText()).toContain('$1,250.50');
    const me = User.parse(await apiJson(context.request, '/v1/auth/me'));
    const [edited] = ProductList.parse(await apiJson(context.request, `/v1/products?sellerId=${me.id}`)).products;
    expect(Product.parse(edited).price).toEqual({ amount: 125050, currency: 'USD' });

    await row.getByRole('button', { name: 'Archive' }).click();
    await expect.poll(() => page.locator('#products').innerText()).toContain('“Wool beanie” is archived');
    expect(await row.count()).toBe(0);
    expect(ProductList.parse(await apiJson(context.request, `/v1/products?sellerId=${me.id}`)).products).toEqual([]);
    await context.close();
  });
});

describe('signing in and up', () => {
  it('works without JavaScript: a taken email and a wrong password are explained, then the session cookie arrives', async () => {
    const account = await createAccount('shopper');
    const { context, page } = await newVisitor({ javaScriptEnabled: false });

    await page.goto(`${webUrl}/signup`);
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill('another long password');
    await page.getByLabel('Display name').fill('Someone else');
    const [taken] = await Promise.all([documentPost(page), page.getByRole('button', { name: 'Create account' }).click()]);
    expect(taken.status()).toBe(409);
    const email = page.getByLabel('Email');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    expect(await email.inputValue()).toBe(account.email);
    expect(await descriptionOf(email)).toMatch(/an account with this email exists already/i);
    // Without JavaScript, the first field to fix is focused as the page loads.
    expect(await isFocused(email)).toBe(true);

    await page.goto(`${webUrl}/login`);
    await page.getByLabel('Email').fill(account.email);
    await page.getByLabel('Password').fill('not the password');
    const [wrong] = await Promise.all([documentPost(page), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(wrong.status()).toBe(401);
    expect(await page.getByRole('alert').innerText()).toBe('Wrong email or password.');

    await page.getByLabel('Password').fill(account.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${webUrl}/`);
    expect(await page.locator('header.site-header').innerText()).toContain('Test shopper');
    const [sessionCookie] = await context.cookies(webUrl);
    expect(sessionCookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await context.close();
  });

  it('says when to try again once sign-in attempts are rate-limited (429)', async () => {
    const account = await createAccount('shopper');
    const { context, page } = await newVisitor();
    await page.goto(`${webUrl}/login`);
    await page.getByLabel('Email').fill(account.email);
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Sign in' }) });
    const alert = form.getByRole('alert');
    const messages: string[] = [];
    // The edge API allows five attempts a minute per account; the sixth is refused whatever the password.
    for (let attempt = 1; attempt <= 6; attempt++) {
      await page.getByLabel('Password').fill(`wrong password ${attempt}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // enhanceForm marks the form busy until the page has taken the answer in.
      await expect.poll(() => form.getAttribute('aria-busy')).toBeNull();
      messages.push(await alert.innerText());
    }
    expect(messages.slice(0, 5)).toEqual(Array(5).fill('Wrong email or password.'));
    expect(messages[5]).toMatch(/^Too many attempts\. Try again in \d+ seconds\.$/);
    expect(await isFocused(alert)).toBe(true);
    await context.close();
  });
});
