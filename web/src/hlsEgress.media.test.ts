/**
 * A browser show's LL-HLS and replay, end to end in Chromium inside a private network namespace
 * (WebRTC over 127.0.0.1): the seller goes live from the broadcast page (fake camera and microphone)
 * into the sfu, which tells the transcoder (TRANSCODER_URL); the transcoder re-encodes the sfu's
 * plain-RTP egress into HLS. A shopper whose network blocks WebRTC (their web server points the
 * player at an sfu port where nothing listens) gets the show over hls.js, and its replay once the
 * seller ends the show. Run with
 * `MYTAEK1_MEDIA_TESTS=1 sh scripts/netns-run.sh node node_modules/vitest/vitest.mjs run --project web-media src/hlsEgress.media.test.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Show, ShowList } from '@mytaek1/contracts';
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import { freePort, launchChromium, startProcess, type RunningProcess } from '@mytaek1/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertMediaEnvironment, repoRoot, startSfuProcess, type SfuProcess } from '../../sfu/src/testing/sfuProcess.ts';
import { buildWebIfStale, startWebServer } from './testing/e2e-stack.ts';

const mediaRun = process.env.MYTAEK1_MEDIA_TESTS === '1';

describe.runIf(mediaRun)('a browser show over LL-HLS, and its replay, in Chromium', () => {
  const tokenSecret = randomBytes(32).toString('hex');
  let dataDir: string | undefined;
  let edgeApi: Awaited<ReturnType<typeof startEdgeApi>> | undefined;
  let sfu: SfuProcess | undefined;
  let transcoder: RunningProcess | undefined;
  let transcoderUrl = '';
  const webs: RunningProcess[] = [];
  let sellerWebUrl = '';
  let shopperWebUrl = '';
  let browser: Browser | undefined;
  const consoleLines: string[] = [];

  beforeAll(async () => {
    assertMediaEnvironment();
    await buildWebIfStale();
    dataDir = await mkdtemp(join(tmpdir(), 'mytaek1-web-hls-egress-'));
    edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0', TOKEN_SECRET: tokenSecret }));
    const httpPort = await freePort();
    transcoderUrl = `http://127.0.0.1:${httpPort}`;
    transcoder = startProcess(process.execPath, [join(repoRoot, 'transcoder', 'src', 'index.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TRANSCODER_HOST: '127.0.0.1',
        TRANSCODER_HTTP_PORT: String(httpPort),
        RTMP_PORT: String(await freePort()),
        MEDIA_DIR: join(dataDir, 'media'),
        EDGE_API_URL: edgeApi.url,
        TOKEN_SECRET: tokenSecret,
        // Small frames: the machine encodes the seller's simulcast and this at once.
        SFU_HLS_SIZE: '640x360',
        SFU_HLS_VIDEO_KBPS: '800',
        LOG_LEVEL: 'info',
      },
    });
    await transcoder.waitForOutput(/health: /, 30_000);
    sfu = await startSfuProcess({ tokenSecret, env: { TRANSCODER_URL: transcoderUrl } });
    const seller = await startWebServer(edgeApi.url, { SFU_PUBLIC_URL: sfu.wsUrl, TRANSCODER_PUBLIC_URL: transcoderUrl });
    const shopper = await startWebServer(edgeApi.url, { SFU_PUBLIC_URL: `ws://127.0.0.1:${await freePort()}`, TRANSCODER_PUBLIC_URL: transcoderUrl });
    webs.push(seller.process, shopper.process);
    [sellerWebUrl, shopperWebUrl] = [seller.url, shopper.url];
    browser = await launchChromium({ loopbackWebRtc: true });
  });

  afterEach((context) => {
    if (context.task.result?.state !== 'fail') return;
    console.error(
      `browser console:\n${consoleLines.slice(-50).join('\n')}\n\ntranscoder:\n${transcoder?.output().split('\n').slice(-40).join('\n')}\n\nsfu:\n${sfu?.output().split('\n').slice(-20).join('\n')}`,
    );
  });

  afterAll(async () => {
    await browser?.close();
    for (const web of webs) await web.stop();
    await sfu?.stop();
    await transcoder?.stop(15_000);
    await edgeApi?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function openPage(name: string): Promise<Page> {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => consoleLines.push(`[${name}] pageerror: ${error.message}`));
    page.on('console', (message) => consoleLines.push(`[${name}] ${message.type()}: ${message.text()}`));
    return page;
  }

  const showOf = async (id: string) => Show.parse(await (await fetch(`${edgeApi!.url}/v1/shows/${id}`)).json());
  const videoTime = (page: Page, selector: string) => page.locator(`${selector} video`).evaluate((video: HTMLVideoElement) => video.currentTime);

  /** The demo seller signs in and goes live on `showId` from its broadcast page. */
  async function goLive(seller: Page, showId: string): Promise<void> {
    const login = await seller.context().request.post(`${sellerWebUrl}/api/v1/auth/login`, { data: { email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password } });
    expect(login.status()).toBe(200);
    await seller.goto(`${sellerWebUrl}/shows/${showId}/broadcast`);
    const button = seller.getByRole('button', { name: 'Go live' });
    await expect.poll(() => button.isEnabled(), { timeout: 15_000 }).toBe(true);
    await button.click();
    await seller.locator('section.publisher[data-state="live"]').waitFor({ timeout: 60_000 });
  }

  /** A shopper whose WebRTC cannot connect opens the show: the player falls back to HLS, which plays. */
  async function watchOverHls(name: string, showId: string): Promise<Page> {
    const shopper = await openPage(name);
    await shopper.goto(`${shopperWebUrl}/shows/${showId}`);
    const player = shopper.locator('.live-player');
    await expect.poll(() => player.getAttribute('data-path'), { timeout: 15_000 }).toBe('hls');
    await expect.poll(() => player.getAttribute('data-state'), { timeout: 45_000 }).toBe('live');
    expect(await shopper.locator('.live-player .path-badge').textContent()).toBe('HLS');
    const before = await videoTime(shopper, '.live-player');
    await expect.poll(() => videoTime(shopper, '.live-player'), { timeout: 15_000 }).toBeGreaterThan(before + 2);
    return shopper;
  }

  /** The seller ends the show: the room closes, the transcoder finalises the replay and reports it, and the show page plays it. */
  async function endAndWatchReplay(seller: Page, shopper: Page, showId: string): Promise<void> {
    await seller.getByRole('button', { name: 'End show' }).click();
    await seller.getByRole('button', { name: 'End show now' }).click();
    await expect.poll(async () => (await showOf(showId)).replay, { timeout: 45_000 }).not.toBeNull();
    const ended = await showOf(showId);
    expect(ended.status).toBe('ended');
    expect(ended.replay?.playlistUrl).toBe(`${transcoderUrl}/replays/${showId}/index.m3u8`);
    await shopper.goto(`${shopperWebUrl}/shows/${showId}`);
    // Played muted, asked again until it plays: hls.js may still be attaching its source, which
    // interrupts a play() made before it (AbortError).
    const replayTime = () =>
      shopper.locator('.replay-player video').evaluate(async (video: HTMLVideoElement) => {
        video.muted = true;
        await video.play().catch(() => undefined);
        return video.currentTime;
      });
    await expect.poll(replayTime, { timeout: 20_000 }).toBeGreaterThan(1.5);
    expect(consoleLines.filter((line) => line.includes('pageerror'))).toEqual([]);
  }

  it('the seller goes live from the browser; a shopper without WebRTC watches over hls.js, then the replay', async () => {
    const showId = ShowList.parse(await (await fetch(`${edgeApi!.url}/v1/shows`)).json()).upcoming[0]!.id;
    const seller = await openPage('seller');
    await goLive(seller, showId);
    // The sfu told the transcoder, which writes the show's HLS from the egress.
    await transcoder!.waitForOutput(new RegExp(`show ${showId}: the sfu has a publisher's media`), 30_000);
    const shopper = await watchOverHls('shopper', showId);
    expect(await shopper.locator('.live-player video').evaluate((video: HTMLVideoElement) => [video.videoWidth, video.videoHeight])).toEqual([640, 360]);
    await endAndWatchReplay(seller, shopper, showId);
  });

  it('a seller whose browser gives no microphone still gets LL-HLS, with a silent audio track, and a replay', async () => {
    const login = await fetch(`${edgeApi!.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password }) });
    const { token } = (await login.json()) as { token: string };
    const created = await fetch(`${edgeApi!.url}/v1/shows`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Camera only', scheduledAt: new Date().toISOString() }),
    });
    expect(created.status).toBe(201);
    const showId = Show.parse(await created.json()).id;

    const seller = await openPage('seller-no-mic');
    // The microphone is gone: the browser hands the page a camera alone.
    await seller.context().addInitScript(() => {
      const devices = navigator.mediaDevices;
      const getUserMedia = devices.getUserMedia.bind(devices);
      devices.getUserMedia = async (constraints) => {
        const stream = await getUserMedia(constraints);
        for (const track of stream.getAudioTracks()) {
          stream.removeTrack(track);
          track.stop();
        }
        return stream;
      };
    });
    await goLive(seller, showId);
    // The sfu waits a moment for audio, then tells the transcoder; its egress has video alone.
    await transcoder!.waitForOutput(new RegExp(`show ${showId}: egress \\S+ from \\S+ \\(video/VP8, no audio\\)`), 30_000);
    const shopper = await watchOverHls('shopper-no-mic', showId);
    // The live stream carries an audio track all the same (silence): players expect one.
    const init = Buffer.from(await (await fetch(`${transcoderUrl}/live/${showId}/init.mp4`)).arrayBuffer());
    expect(init.includes('mp4a'), 'an AAC track in the init segment').toBe(true);
    await endAndWatchReplay(seller, shopper, showId);
  });
});
