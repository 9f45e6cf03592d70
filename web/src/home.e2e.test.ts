/**
 * The production build end to end: the real edge API (PGlite, demo seed) in this process, the web
 * server as `node build/index.js` in a child process, and Debian's Chromium as the visitor.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newId, Problem, ShowList } from '@mytaek1/contracts';
import { freePort, launchChromium, startProcess, type RunningProcess } from '@mytaek1/test-support';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The edge API's package exports only the app and the client; its Node entry is reached by path.
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';

const webDir = fileURLToPath(new URL('..', import.meta.url));
const serverEntry = join(webDir, 'build', 'index.js');
const SEEDED_TITLE = 'Autumn layers, live';
const SEEDED_SELLER = 'Mina’s Closet';

let dataDir: string;
let edgeApi: Awaited<ReturnType<typeof startEdgeApi>> | undefined;
let web: RunningProcess | undefined;
let webUrl: string;
let browser: Browser | undefined;

beforeAll(async () => {
  await buildIfStale();
  dataDir = await mkdtemp(join(tmpdir(), 'mytaek1-web-e2e-'));
  edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0' }));
  ({ process: web, url: webUrl } = await startWebServer(edgeApi.url));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await edgeApi?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the home page', () => {
  it('lists the seeded show with its seller, and its link opens the show page in the "not started" state', async () => {
    const page = await browser!.newPage();
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

/** Starts `node build/index.js` on a free port and resolves once it prints adapter-node's listening line. */
async function startWebServer(edgeApiUrl: string): Promise<{ process: RunningProcess; url: string }> {
  const port = await freePort();
  const server = startProcess(process.execPath, [serverEntry], {
    cwd: webDir,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), EDGE_API_URL: edgeApiUrl },
  });
  try {
    await server.waitForOutput(/Listening on http:\/\/127\.0\.0\.1:\d+/, 30_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { process: server, url: `http://127.0.0.1:${port}` };
}

/** What the production build is made from (tests excluded: editing one must not force a rebuild). */
const BUILD_INPUTS = ['src', 'static', 'vite.config.ts', 'package.json'];

/** Runs `vite build` when web/build is missing or older than any of its inputs. */
async function buildIfStale(): Promise<void> {
  const builtAt = await stat(serverEntry).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const newestInput = Math.max(...(await Promise.all(BUILD_INPUTS.map((input) => newestMtime(join(webDir, input))))));
  if (builtAt > newestInput) return;

  const viteBin = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const child = spawn(process.execPath, [viteBin, 'build', '--logLevel', 'warn'], { cwd: webDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (exitCode !== 0) throw new Error(`vite build failed (exit ${exitCode}):\n${output}`);
}

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return path.endsWith('.test.ts') ? 0 : info.mtimeMs;
  const entries = await readdir(path);
  return Math.max(0, ...(await Promise.all(entries.map((entry) => newestMtime(join(path, entry))))));
}
