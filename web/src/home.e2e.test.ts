/**
 * The production build end to end: the real edge API (PGlite, demo seed) in this process, the web
 * server as `node build/index.js` in a child process, and Debian's Chromium as the visitor.
 */
import { newId, Problem, ShowList } from '@mytaek1/contracts';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import { freePort } from '@mytaek1/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, startWebServer, type E2eStack } from './testing/e2e-stack.ts';

const SEEDED_TITLE = 'Autumn layers, live';
const SEEDED_SELLER = 'Mina’s Closet';

let stack: E2eStack | undefined;
let webUrl: string;

beforeAll(async () => {
  stack = await startE2eStack();
  webUrl = stack.webUrl;
});

afterAll(async () => {
  await stack?.close();
});

describe('the home page', () => {
  it('lists the seeded show with its seller, and its link opens the show page in the "not started" state', async () => {
    const page = await stack!.browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });

    const response = await page.goto(`${webUrl}/`);
    expect(response?.status()).toBe(200);
    const card = page.locator('#upcoming a', { hasText: SEEDED_TITLE });
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.innerText()).toContain(SEEDED_SELLER);
    expect(await page.locator('#live').innerText()).toContain('Nobody is live right now');

    await card.click();
    await page.waitForURL(/\/shows\/[0-9a-f-]{36}$/);
    expect(await page.locator('h1').innerText()).toBe(SEEDED_TITLE);
    expect(await page.locator('.seller').innerText()).toContain(SEEDED_SELLER);
    expect(await page.locator('.stage').innerText()).toContain('This show has not started yet');
    // Navigating there ran in the browser (kit's client router), so hydration must have been clean.
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('answers an unknown or malformed show id with a 404 page', async () => {
    for (const id of [newId(), 'not-a-show-id']) {
      const response = await fetch(`${webUrl}/shows/${id}`);
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('This page does not exist');
    }
  });
});

describe('the /api proxy', () => {
  it('serves the edge API on the site’s own origin', async () => {
    const response = await fetch(`${webUrl}/api/v1/shows`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const shows = ShowList.parse(await response.json());
    expect(shows.upcoming).toEqual([expect.objectContaining({ title: SEEDED_TITLE, sellerName: SEEDED_SELLER, status: 'scheduled' })]);
  });

  it('carries a session as an HttpOnly cookie of this site: signed in through /api, known to /api', async () => {
    const login = await fetch(`${webUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: DEMO_LOGINS.shopper.email, password: DEMO_LOGINS.shopper.password }),
    });
    expect(login.status).toBe(200);
    const [sessionCookie] = login.headers.getSetCookie();
    expect(sessionCookie).toMatch(/; HttpOnly/i);
    expect(sessionCookie).toMatch(/; Path=\//i);

    const me = await fetch(`${webUrl}/api/v1/auth/me`, { headers: { cookie: sessionCookie!.split(';')[0]! } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ displayName: DEMO_LOGINS.shopper.displayName, role: 'shopper' });
    expect((await fetch(`${webUrl}/api/v1/auth/me`)).status).toBe(401);
  });

  it('passes the edge API’s errors through as they are', async () => {
    const response = await fetch(`${webUrl}/api/v1/shows/${newId()}`);
    expect(response.status).toBe(404);
    expect(Problem.parse(await response.json()).status).toBe(404);
  });
});

describe('with the edge API down', () => {
  it('shows a clear error page and keeps serving', async () => {
    const { process: stranded, url } = await startWebServer(`http://127.0.0.1:${await freePort()}`);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const response = await fetch(`${url}/`);
        expect(response.status).toBe(503);
        const html = await response.text();
        expect(html).toContain('Shows are unavailable right now');
        expect(html).toContain('EDGE_API_URL');
      }
      const proxied = await fetch(`${url}/api/v1/shows`);
      expect(proxied.status).toBe(502);
      expect(Problem.parse(await proxied.json()).title).toBe('Edge API unreachable');
      expect(stranded.child.exitCode).toBeNull();
    } finally {
      await stranded.stop();
    }
  });
});
