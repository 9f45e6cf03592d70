/**
 * LL-HLS and replays in Chromium, on the host (no WebRTC here, so no network namespace): the real
 * edge API (PGlite, demo seed) in this process, the transcoder as its own process, the web app's
 * production build, and FFmpeg publishing the demo seller's show over RTMP as OBS would. The sfu's
 * public URL points at a port where nothing listens, as for a shopper whose network blocks WebRTC:
 * the show page's player must fall back to hls.js by itself, say so, and play; once the publisher
 * stops, the show ends and its page plays the replay.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Show, ShowList, StreamKey } from '@mytaek1/contracts';
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import { freePort, launchChromium, startProcess, type RunningProcess } from '@mytaek1/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWebIfStale, startWebServer, webDir } from './testing/e2e-stack.ts';

const repoRoot = join(webDir, '..');
const tokenSecret = randomBytes(32).toString('hex');
let dataDir: string;
let edgeApi: Awaited<ReturnType<typeof startEdgeApi>> | undefined;
let transcoder: RunningProcess | undefined;
let transcoderUrl = '';
let rtmpUrl = '';
let web: RunningProcess | undefined;
let webUrl = '';
let browser: Browser | undefined;
let publisher: ChildProcess | undefined;
let page: Page | undefined;
const consoleLines: string[] = [];

beforeAll(async () => {
  await buildWebIfStale();
  dataDir = await mkdtemp(join(tmpdir(), 'mytaek1-web-hls-'));
  edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0', TOKEN_SECRET: tokenSecret }));
  const [httpPort, rtmpPort, deadSfuPort] = [await freePort(), await freePort(), await freePort()];
  transcoderUrl = `http://127.0.0.1:${httpPort}`;
  rtmpUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
  transcoder = startProcess(process.execPath, [join(repoRoot, 'transcoder', 'src', 'index.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TRANSCODER_HOST: '127.0.0.1',
      TRANSCODER_HTTP_PORT: String(httpPort),
      RTMP_PORT: String(rtmpPort),
      MEDIA_DIR: join(dataDir, 'media'),
      EDGE_API_URL: edgeApi.url,
      TOKEN_SECRET: tokenSecret,
      // The publisher stopping ends the show at once (OBS's resume window is not under test).
      PUBLISH_RESUME_GRACE_MS: '0',
      LOG_LEVEL: 'warn',
    },
  });
  await waitUntil('the transcoder', async () => (await fetch(`${transcoderUrl}/healthz`).catch(() => undefined))?.ok === true);
  ({ process: web, url: webUrl } = await startWebServer(edgeApi.url, {
    SFU_PUBLIC_URL: `ws://127.0.0.1:${deadSfuPort}`,
    TRANSCODER_PUBLIC_URL: transcoderUrl,
  }));
  browser = await launchChromium();
}, 240_000);

afterEach((context) => {
  if (context.task.result?.state === 'fail') {
    console.error(`browser console:\n${consoleLines.slice(-40).join('\n')}\n\ntranscoder:\n${transcoder?.output().split('\n').slice(-40).join('\n')}`);
  }
});

afterAll(async () => {
  publisher?.kill('SIGKILL');
  await browser?.close();
  await web?.stop();
  await transcoder?.stop(15_000);
  await edgeApi?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The demo seller's stream key, as the studio shows it. */
async function sellerStreamKey(): Promise<string> {
  const login = await fetch(`${edgeApi!.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password }),
  });
  const { token } = (await login.json()) as { token: string };
  const rotated = await fetch(`${edgeApi!.url}/v1/stream-key/rotate`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return StreamKey.parse(await rotated.json()).streamKey;
}

/** Seconds of video the page's <video> has played so far, and its frame size. */
function videoProgress(target: Page, selector: string): Promise<{ time: number; width: number; height: number }> {
  return target.locator(`${selector} video`).evaluate((video: HTMLVideoElement) => ({ time: video.currentTime, width: video.videoWidth, height: video.videoHeight }));
}

describe('LL-HLS fallback and replays in Chromium', () => {
  it('falls back to hls.js when WebRTC cannot connect, plays the live show, and then its replay', async () => {
    const shows = ShowList.parse(await (await fetch(`${edgeApi!.url}/v1/shows`)).json());
    const showId = shows.upcoming[0]!.id;
    publisher = spawn(
      'ffmpeg',
      [
        '-hide_banner', '-nostdin', '-loglevel', 'error',
        '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '24',
        '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0',
        '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', `${rtmpUrl}/${await sellerStreamKey()}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // The publish takes the show live (the transcoder reports publish_started to the edge API).
    await waitUntil('the show to go live', async () => Show.parse(await (await fetch(`${edgeApi!.url}/v1/shows/${showId}`)).json()).status === 'live');

    const context = await browser!.newContext();
    page = await context.newPage();
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
    const openedAt = Date.now();
    await page.goto(`${webUrl}/shows/${showId}`);
    const player = page.locator('.live-player');
    // WebRTC first: the sfu is unreachable, so the player keeps trying for its few seconds...
    await expect.poll(() => player.getAttribute('data-path'), { timeout: 3_000 }).toBe('webrtc');
    // ...then plays HLS, and says so.
    await expect.poll(() => player.getAttribute('data-path'), { timeout: 15_000 }).toBe('hls');
    await expect.poll(() => player.getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(3_500);
    await expect.poll(() => page!.locator('.live-player .path-badge').textContent()).toBe('HLS');
    const first = await videoProgress(page, '.live-player');
    await expect.poll(async () => (await videoProgress(page!, '.live-player')).time, { timeout: 10_000 }).toBeGreaterThan(first.time + 1);
    expect(await videoProgress(page, '.live-player')).toMatchObject({ width: 640, height: 360 });

    // The publisher stops: the show ends, the transcoder finalises the replay and reports it.
    const [code] = (await once(publisher, 'exit')) as [number | null];
    expect(code).toBe(0);
    await waitUntil('the replay to be listed', async () => Show.parse(await (await fetch(`${edgeApi!.url}/v1/shows/${showId}`)).json()).replay !== null, 45_000);
    const ended = Show.parse(await (await fetch(`${edgeApi!.url}/v1/shows/${showId}`)).json());
    expect(ended.status).toBe('ended');
    expect(ended.replay?.playlistUrl).toBe(`${transcoderUrl}/replays/${showId}/index.m3u8`);
    expect(ended.replay?.durationSeconds).toBeGreaterThan(10);

    // The home page marks it; its page plays the recording.
    await page.goto(webUrl);
    await expect.poll(() => page!.locator(`a[href="/shows/${showId}"] .replay`).count()).toBe(1);
    await page.goto(`${webUrl}/shows/${showId}`);
    const replay = page.locator('.replay-player');
    await expect.poll(() => replay.count()).toBe(1);
    // Played muted, asked again until it plays: hls.js may still be attaching its source, which
    // interrupts a play() made before it (AbortError).
    const replayTime = () =>
      page!.locator('.replay-player video').evaluate(async (video: HTMLVideoElement) => {
        video.muted = true;
        await video.play().catch(() => undefined);
        return video.currentTime;
      });
    await expect.poll(replayTime, { timeout: 15_000 }).toBeGreaterThan(1.5);
    expect(await videoProgress(page, '.replay-player')).toMatchObject({ width: 640, height: 360 });
    expect(await page.locator('.replay-player .badge').textContent()).toMatch(/^Replay · 0:\d\d$/);
    await context.close();
  });
});
