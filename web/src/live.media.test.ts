/**
 * Live video end to end, in Chromium, inside a private network namespace (WebRTC over 127.0.0.1):
 * the real edge API (PGlite, demo seed) in this process, the sfu as its own process (so it can be
 * killed and started again), the web app's production build (`node build/index.js`), a seller's page
 * publishing a fake camera, and shoppers' pages playing it. Run with
 * `MYTAEK1_MEDIA_TESTS=1 sh scripts/netns-run.sh node node_modules/vitest/vitest.mjs run --project web-media`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { issueToken, ShowList } from '@mytaek1/contracts';
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import { launchChromium, type RunningProcess } from '@mytaek1/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SFU_PRECONNECT_GLOBAL } from './lib/media/sfuPreconnect.ts';
import { assertMediaEnvironment, startSfuProcess, type SfuProcess } from '../../sfu/src/testing/sfuProcess.ts';
import { buildWebIfStale, startWebServer } from './testing/e2e-stack.ts';

// Collected by the `web` project on the host too, where there is no namespace: only the media run executes it.
const mediaRun = process.env.MYTAEK1_MEDIA_TESTS === '1';

describe.runIf(mediaRun)('live video through the sfu, in Chromium', () => {
  const tokenSecret = randomBytes(32).toString('hex');
  let dataDir: string | undefined;
  let edgeApi: Awaited<ReturnType<typeof startEdgeApi>> | undefined;
  let sfu: SfuProcess | undefined;
  let web: RunningProcess | undefined;
  let webUrl = '';
  let browser: Browser | undefined;
  let showId = '';
  let seller: { context: BrowserContext; page: Page } | undefined;
  let viewer: { context: BrowserContext; page: Page } | undefined;
  const pageErrors: string[] = [];
  /** The pages' console and the sfu's log, printed when a test fails. */
  const consoleLines: string[] = [];

  beforeAll(async () => {
    assertMediaEnvironment();
    await buildWebIfStale();

    dataDir = await mkdtemp(join(tmpdir(), 'mytaek1-web-media-'));
    edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0', TOKEN_SECRET: tokenSecret }));
    sfu = await startSfuProcess({ tokenSecret });
    // No ORIGIN nor PROTOCOL_HEADER, as under `npm start`: the pages' API calls must work without them.
    ({ process: web, url: webUrl } = await startWebServer(edgeApi.url, { SFU_PUBLIC_URL: sfu.wsUrl }));

    const shows = ShowList.parse(await (await fetch(`${edgeApi.url}/v1/shows`)).json());
    showId = shows.upcoming[0]!.id;
    browser = await launchChromium({ loopbackWebRtc: true });
  });

  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail') return;
    const texts = await Promise.all(
      Object.entries({ seller, viewer }).map(async ([name, opened]) => `${name}: ${opened ? await opened.page.locator('main').innerText({ timeout: 1_000 }).catch(() => '?') : '(no page)'}`),
    );
    console.error(
      `pages:\n${texts.join('\n')}\n\nbrowser console (last lines):\n${consoleLines.slice(-60).join('\n')}\n\nsfu log (last lines):\n${sfu?.output().split('\n').slice(-40).join('\n')}`,
    );
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await sfu?.stop();
    await edgeApi?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** A browser context of its own (cookies, storage), counting the signaling sockets its pages open. */
  async function openPage(path: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => {
      const Native = window.WebSocket;
      const counter = window as unknown as { __sfuSockets: number };
      counter.__sfuSockets = 0;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          if (String(url).includes('/ws?show=')) counter.__sfuSockets++;
        }
      };
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${path}: ${error.message}`));
    page.on('console', (message) => consoleLines.push(`[${path}] ${message.type()}: ${message.text()}`));
    page.on('response', (response) => {
      if (response.status() >= 400) consoleLines.push(`[${path}] HTTP ${response.status()} ${response.request().method()} ${response.url()}`);
    });
    page.on('requestfailed', (request) => consoleLines.push(`[${path}] failed ${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
    return { context, page };
  }

  async function signInAsSeller(context: BrowserContext): Promise<void> {
    const response = await context.request.post(`${webUrl}/api/v1/auth/login`, {
      data: { email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password },
    });
    expect(response.status()).toBe(200);
  }

  const playerState = (page: Page) => page.locator('.live-player').getAttribute('data-state');
  const publisherState = (page: Page) => page.locator('section.publisher').getAttribute('data-state');
  const sfuSockets = (page: Page) => page.evaluate(() => (window as unknown as { __sfuSockets: number }).__sfuSockets);

  /** Frames the player's <video> presented during `ms` (requestVideoFrameCallback), and its decoded-frame counter's growth. */
  async function framesOver(page: Page, ms: number): Promise<{ presented: number; decoded: number; width: number; height: number }> {
    return page.evaluate(async (duration) => {
      const video = document.querySelector<HTMLVideoElement>('.live-player video');
      if (!video) throw new Error('no player video');
      let presented = 0;
      const onFrame = () => {
        presented++;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
      const before = video.getVideoPlaybackQuality().totalVideoFrames;
      await new Promise((resolve) => setTimeout(resolve, duration));
      return { presented, decoded: video.getVideoPlaybackQuality().totalVideoFrames - before, width: video.videoWidth, height: video.videoHeight };
    }, ms);
  }

  async function expectPlaying(page: Page): Promise<void> {
    await page.locator('.live-player[data-state="live"]').waitFor({ timeout: 60_000 });
    // Decoding starts with the first key frame after the consumer resumed: give it a moment, then count.
    await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('.live-player video')?.videoWidth ?? 0) > 0, undefined, { timeout: 30_000 });
    const frames = await framesOver(page, 2_000);
    expect(frames.presented, `frames presented in 2 s: ${JSON.stringify(frames)}`).toBeGreaterThanOrEqual(15);
    expect(frames.decoded).toBeGreaterThanOrEqual(15);
  }

  async function expectOnAir(page: Page): Promise<void> {
    await page.locator('section.publisher[data-state="live"]').waitFor({ timeout: 60_000 });
    await page.getByText('On air: viewers see and hear you.').waitFor();
  }

  it('the seller goes live from the broadcast page, and a shopper’s player decodes the video and shows its layer', async () => {
    seller = await openPage('broadcast');
    await signInAsSeller(seller.context);
    await seller.page.goto(`${webUrl}/shows/${showId}/broadcast`);
    const goLive = seller.page.getByRole('button', { name: 'Go live' });
    await expect.poll(() => goLive.isEnabled(), { timeout: 15_000 }).toBe(true);
    // The fake devices are listed once the camera and microphone are open.
    expect(await seller.page.locator('select').first().locator('option').count()).toBeGreaterThan(0);
    await goLive.click();
    await expectOnAir(seller.page);

    viewer = await openPage('show');
    await viewer.page.goto(`${webUrl}/shows/${showId}`);
    await expectPlaying(viewer.page);
    // One socket to the sfu: the one the page's <head> opened before its code loaded, which the player took over.
    expect(await sfuSockets(viewer.page)).toBe(1);
    expect(await viewer.page.evaluate((name) => (window as unknown as Record<string, unknown>)[name], SFU_PRECONNECT_GLOBAL)).toEqual({});

    // Video and audio, muted until a tap.
    const media = await viewer.page.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('.live-player video')!;
      return { kinds: (video.srcObject as MediaStream).getTracks().map((track) => track.kind).sort(), muted: video.muted };
    });
    expect(media).toEqual({ kinds: ['audio', 'video'], muted: true });
    await viewer.page.getByRole('button', { name: /Tap to unmute/ }).click();
    expect(await viewer.page.evaluate(() => document.querySelector<HTMLVideoElement>('.live-player video')!.muted)).toBe(false);

    // The layer it receives is shown: one of the three simulcast layers.
    await expect.poll(() => viewer!.page.locator('.live-player').getAttribute('data-layer'), { timeout: 15_000 }).toMatch(/^r[012]$/);
    expect(await viewer.page.locator('.live-player .layer').innerText()).toMatch(/r[012] \(\d of 3\) · \d+×\d+/);

    // The sfu sees one publisher with a simulcast video producer and an audio producer, and one viewer.
    const stats = await sfu!.stats();
    const show = stats.shows.find((s) => s.show === showId);
    expect(show).toMatchObject({ publishers: 1, viewers: 1, consumers: 2 });
    expect(show!.producers.map((p) => p.kind).sort()).toEqual(['audio', 'video']);
    expect(pageErrors).toEqual([]);
  });

  it('a smaller player asks the sfu for a smaller simulcast layer, a bigger one for the top layer again', async () => {
    const player = viewer!.page.locator('.live-player');
    await expect.poll(() => player.getAttribute('data-layer'), { timeout: 20_000 }).toBe('r2');
    // A phone-sized player (270 px tall): 360p is sharp enough.
    await viewer!.page.setViewportSize({ width: 480, height: 800 });
    await expect.poll(() => player.getAttribute('data-layer'), { timeout: 20_000 }).toBe('r1');
    // The frames shrink at the next key frame of the smaller layer.
    await expect.poll(() => player.locator('.layer').innerText(), { timeout: 10_000 }).toMatch(/^r1 \(2 of 3\) · 640×360/);
    await viewer!.page.setViewportSize({ width: 1280, height: 900 });
    await expect.poll(() => player.getAttribute('data-layer'), { timeout: 30_000 }).toBe('r2');
    await expectPlaying(viewer!.page);
  });

  it('after the sfu’s media worker dies, both pages rebuild their media on the same signaling session', async () => {
    const before = await sfu!.stats();
    const deadPid = before.workers[0]!.pid;
    const states = await recordStates(viewer!.page);
    process.kill(deadPid, 'SIGKILL');
    // The sfu replaces the worker and sends `reconnect`: transports are made again, on the same socket.
    await expect.poll(async () => (await sfu!.stats()).workers.map((w) => w.pid), { timeout: 20_000 }).not.toContain(deadPid);
    // The player lost the seller's tracks with the worker (waiting), then got them back.
    await expect.poll(states, { timeout: 20_000 }).toContain('waiting');
    await expectOnAir(seller!.page);
    await expectPlaying(viewer!.page);
    expect(await sfuSockets(viewer!.page)).toBe(1);
    expect(await sfuSockets(seller!.page)).toBe(1);
  });

  it('the player recovers by itself when the sfu process is killed and started again, without a page reload', async () => {
    await viewer!.page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    const states = await recordStates(viewer!.page);
    await sfu!.kill('SIGKILL');
    await viewer!.page.locator('.live-player[data-state="reconnecting"]').waitFor({ timeout: 15_000 });
    expect(await viewer!.page.locator('.live-player').innerText()).toContain('Reconnecting');
    // Past the fallback delay the player turns to HLS (there is none in this test), while WebRTC keeps
    // trying underneath; once the sfu is back, the player returns to WebRTC by itself.
    await expect.poll(() => viewer!.page.locator('.live-player').getAttribute('data-path'), { timeout: 15_000 }).toBe('hls');
    await sfu!.start();

    await expectOnAir(seller!.page);
    await expectPlaying(viewer!.page);
    expect(await viewer!.page.locator('.live-player').getAttribute('data-path')).toBe('webrtc');
    expect(await viewer!.page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
    expect(await sfuSockets(viewer!.page)).toBeGreaterThan(1);
    expect(await states()).toContain('reconnecting');
  });

  it('the player also recovers from a graceful sfu restart (the room closes with `shutdown`)', async () => {
    const socketsBefore = await sfuSockets(viewer!.page);
    const states = await recordStates(viewer!.page);
    await sfu!.restart('SIGTERM');
    await expect.poll(states, { timeout: 20_000 }).toContain('reconnecting');
    await expectOnAir(seller!.page);
    await expectPlaying(viewer!.page);
    expect(await sfuSockets(viewer!.page)).toBeGreaterThan(socketsBefore);
  });

  it('a viewer whose token is forged is refused with a clear message, and does not keep retrying', async () => {
    const forged = await issueToken({ aud: 'sfu', sub: 'anon:forger', show: showId, role: 'viewer' }, 'not-the-secret-the-sfu-was-given-000000', { ttlSeconds: 120 });
    const intruder = await openPage('forged');
    // The page's own admission (from the server render, or fetched) is swapped for the forged one on
    // its way to the sfu, in the `authenticate` request.
    let swapped = 0;
    await intruder.page.routeWebSocket(/\/ws\?show=/, (socket) => {
      const server = socket.connectToServer();
      socket.onMessage((message) => {
        const frame = JSON.parse(String(message)) as { method?: string; data?: { token?: string } };
        if (frame.method === 'authenticate' && frame.data) {
          frame.data.token = forged;
          swapped++;
        }
        server.send(JSON.stringify(frame));
      });
    });
    await intruder.page.goto(`${webUrl}/shows/${showId}`);
    await intruder.page.locator('.live-player[data-state="refused"]').waitFor({ timeout: 15_000 });
    expect(swapped).toBe(1);
    const text = await intruder.page.locator('.live-player').innerText();
    expect(text).toContain('This video cannot be played');
    expect(text).toContain('signature does not match');
    await intruder.page.waitForTimeout(2_000);
    expect(await sfuSockets(intruder.page)).toBe(1);
    expect(await playerState(intruder.page)).toBe('refused');
    await intruder.context.close();
  });

  it('the seller ends the show: the broadcast stops, and the player says the show has ended', async () => {
    await seller!.page.getByRole('button', { name: 'End show' }).click();
    await seller!.page.getByRole('button', { name: 'End show now' }).click();
    await expect.poll(() => seller!.page.locator('section.publisher').getAttribute('data-show-status'), { timeout: 15_000 }).toBe('ended');
    expect(await publisherState(seller!.page)).toBe('ended');
    // The seller's camera is released.
    expect(await seller!.page.evaluate(() => document.querySelector<HTMLVideoElement>('section.publisher video')?.srcObject ?? null)).toBeNull();

    await viewer!.page.getByText('This show has ended').waitFor({ timeout: 20_000 });
    const stats = await sfu!.stats();
    expect(stats.shows.find((s) => s.show === showId)?.producers ?? []).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

/** Starts recording the player's `data-state` changes; the returned function reads them. */
async function recordStates(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const player = document.querySelector('.live-player')!;
    const seen: string[] = [];
    (window as unknown as { __playerStates: string[] }).__playerStates = seen;
    new MutationObserver(() => seen.push(player.getAttribute('data-state') ?? '')).observe(player, { attributes: true, attributeFilter: ['data-state'] });
  });
  return () => page.evaluate(() => (window as unknown as { __playerStates: string[] }).__playerStates);
}
