/**
 * `npm run bench -- first-frame` (or `node bench/first-frame.ts`): how long a shopper waits, from
 * opening the show page to the first video frame on screen, while the seller is live. The whole app as
 * `npm start` runs it: the edge API with the demo seed (PGlite), the sfu as its own process, the web
 * app's production build, and Chromium. The demo seller goes live on the seeded show from the
 * broadcast page (fake camera, three simulcast layers); then, one at a time, fresh browser contexts
 * (empty cache, no cookies: a first visit) open `/shows/{id}` and record when the player's <video>
 * presents its first frame (requestVideoFrameCallback), measured from navigation start.
 *
 * Runs in a private network namespace (WebRTC over 127.0.0.1): outside one it re-runs itself inside.
 * A second series starts where shoppers usually do, on the home page, and taps the live show's card:
 * in-app navigation, measured from the tap. A third opens the page directly again, but with the web
 * server and the sfu a network round trip away (RTT_MS, through a delaying TCP proxy: HTTP and the
 * signaling WebSocket are delayed, WebRTC media is not), as a shopper's phone is from a data centre.
 *
 * Writes bench/results/first-frame.json and prints a table. Options (environment): VISITS (20),
 * VISITS_FROM_HOME (10), VISITS_OVER_NETWORK (10), RTT_MS (60).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShowList } from '@mytaek1/contracts';
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';
import { DEMO_LOGINS } from '@mytaek1/edge-api/seed';
import { launchChromium, type RunningProcess } from '@mytaek1/test-support';
import type { Browser } from 'playwright-core';
import { assertMediaEnvironment, startSfuProcess, type SfuProcess } from '../sfu/src/testing/sfuProcess.ts';
import { buildWebIfStale, startWebServer } from '../web/src/testing/e2e-stack.ts';
import { DelayProxy } from './lib/DelayProxy.ts';
import { inNetworkNamespace } from './lib/networkNamespace.ts';
import { writeBenchResult } from './lib/results.ts';

const scriptPath = join(import.meta.dirname, 'first-frame.ts');

await inNetworkNamespace(scriptPath, main);

interface Visit {
  /** Navigation start to DOMContentLoaded: the server-rendered page is there. */
  dom_content_loaded_ms: number;
  /** Navigation start to the first presented video frame. */
  first_frame_ms: number;
  /** When the page reached each step, ms from navigation start: where the time goes. */
  marks: Record<string, number>;
}

async function main(): Promise<void> {
  const VISITS = Number(process.env.VISITS ?? 20);
  const VISITS_FROM_HOME = Number(process.env.VISITS_FROM_HOME ?? 10);
  const VISITS_OVER_NETWORK = Number(process.env.VISITS_OVER_NETWORK ?? 10);
  const RTT_MS = Number(process.env.RTT_MS ?? 60);
  const startedAt = performance.now();
  const loadAtStart = loadavg()[0]!;
  assertMediaEnvironment();
  await buildWebIfStale();

  const dataDir = mkdtempSync(join(tmpdir(), 'mytaek1-first-frame-'));
  const tokenSecret = randomBytes(32).toString('hex');
  let edgeApi: Awaited<ReturnType<typeof startEdgeApi>> | undefined;
  let sfu: SfuProcess | undefined;
  let web: RunningProcess | undefined;
  let farWeb: RunningProcess | undefined;
  const proxies: DelayProxy[] = [];
  let browser: Browser | undefined;
  try {
    edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0', TOKEN_SECRET: tokenSecret }));
    sfu = await startSfuProcess({ tokenSecret });
    const started = await startWebServer(edgeApi.url, { SFU_PUBLIC_URL: sfu.wsUrl });
    web = started.process;
    const webUrl = started.url;
    const shows = ShowList.parse(await (await fetch(`${edgeApi.url}/v1/shows`)).json());
    const show = shows.upcoming[0];
    if (!show) throw new Error('the demo seed has no upcoming show');
    browser = await launchChromium({ loopbackWebRtc: true });

    // The seller goes live the way a seller does: the broadcast page's button.
    const seller = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const login = await seller.request.post(`${webUrl}/api/v1/auth/login`, { data: { email: DEMO_LOGINS.seller.email, password: DEMO_LOGINS.seller.password } });
    if (login.status() !== 200) throw new Error(`seller login answered ${login.status()}`);
    const sellerPage = await seller.newPage();
    await sellerPage.goto(`${webUrl}/shows/${show.id}/broadcast`);
    const goLive = sellerPage.getByRole('button', { name: 'Go live' });
    await sellerPage.waitForFunction(() => [...document.querySelectorAll('button')].some((b) => b.textContent?.includes('Go live') && !b.disabled), undefined, { timeout: 30_000 });
    await goLive.click();
    await sellerPage.locator('section.publisher[data-state="live"]').waitFor({ timeout: 60_000 });
    // Let the publisher's simulcast settle, as a show that has been on for a while has.
    await new Promise((resolve) => setTimeout(resolve, 5_000));

    /** Watches the page from its very start: its sockets, its peer connection, and the player's first frame. */
    const instrumentPage = () => {
      // Watches for the player's <video> from the very start and notes its first presented frame.
      const state = window as unknown as { __firstFrameAt?: number; __marks: Record<string, number> };
      state.__marks = {};
      const mark = (name: string) => (state.__marks[name] ??= Math.round(performance.now()));
      const NativeSocket = window.WebSocket;
      window.WebSocket = class extends NativeSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          const kind = String(url).includes('/ws?') ? 'sfu' : 'ws';
          mark(`${kind}_socket_created`);
          this.addEventListener('open', () => mark(`${kind}_socket_open`));
          this.addEventListener('message', () => mark(`${kind}_first_message`));
        }
      };
      const NativePc = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends NativePc {
        constructor(config?: RTCConfiguration) {
          super(config);
          mark('pc_created');
          this.addEventListener('connectionstatechange', () => mark(`pc_${this.connectionState}`));
          this.addEventListener('track', () => mark('pc_track'));
        }
      };
      document.addEventListener('DOMContentLoaded', () => mark('dom_content_loaded'));
      const watch = () => {
        const video = document.querySelector<HTMLVideoElement>('.live-player video');
        if (video) {
          mark('video_element');
          video.addEventListener('loadedmetadata', () => mark('video_metadata'));
          video.requestVideoFrameCallback((now) => (state.__firstFrameAt ??= now));
        }
        else setTimeout(watch, 2);
      };
      watch();
    };

    /** One first visit to the show page at `pageUrl` by a fresh browser context. */
    const visitShowPage = async (pageUrl: string): Promise<Visit> => {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(instrumentPage);
      const page = await context.newPage();
      await page.goto(pageUrl, { waitUntil: 'commit' });
      try {
        await page.waitForFunction(() => (window as unknown as { __firstFrameAt?: number }).__firstFrameAt !== undefined, undefined, { timeout: 15_000, polling: 20 });
      } catch (error) {
        const seen = await page.evaluate(() => {
          const video = document.querySelector<HTMLVideoElement>('.live-player video');
          return { player: document.querySelector('.live-player')?.getAttribute('data-state'), video: video ? `${video.videoWidth}x${video.videoHeight}` : null };
        });
        throw new Error(`no video frame within 15 s of opening the page (${JSON.stringify(seen)})`, { cause: error });
      }
      const visit = await page.evaluate(() => {
        const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return {
          dom_content_loaded_ms: Math.round(navigation.domContentLoadedEventEnd),
          first_frame_ms: Math.round((window as unknown as { __firstFrameAt: number }).__firstFrameAt),
          marks: {
            response_start: Math.round(navigation.responseStart),
            response_end: Math.round(navigation.responseEnd),
            ...(window as unknown as { __marks: Record<string, number> }).__marks,
          },
        };
      });
      await context.close();
      return visit;
    };

    const visits: Visit[] = [];
    for (let i = 0; i < VISITS; i++) {
      const visit = await visitShowPage(`${webUrl}/shows/${show.id}`);
      visits.push(visit);
      process.stderr.write(`first-frame: visit ${i + 1}: ${JSON.stringify(visit)}\n`);
    }

    // The usual way in: a shopper on the home page taps the live show's card, and the app navigates
    // without loading a new document (its code is already running). Measured from the tap.
    const fromHome: number[] = [];
    for (let i = 0; i < VISITS_FROM_HOME; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(instrumentPage);
      await context.addInitScript(() => document.addEventListener('click', () => ((window as unknown as { __tapAt?: number }).__tapAt ??= performance.now()), true));
      const page = await context.newPage();
      await page.goto(`${webUrl}/`, { waitUntil: 'networkidle' });
      await page.locator(`a[href$="/shows/${show.id}"]`).first().click();
      await page.waitForFunction(() => (window as unknown as { __firstFrameAt?: number }).__firstFrameAt !== undefined, undefined, { timeout: 15_000, polling: 20 });
      const ms = await page.evaluate(() => {
        const state = window as unknown as { __firstFrameAt: number; __tapAt: number };
        return Math.round(state.__firstFrameAt - state.__tapAt);
      });
      fromHome.push(ms);
      process.stderr.write(`first-frame: from the home page, visit ${i + 1}: ${ms} ms from the tap\n`);
      await context.close();
    }

    // A shopper a network round trip away: the page and the sfu's signaling behind delaying proxies.
    const farVisits: Visit[] = [];
    if (VISITS_OVER_NETWORK > 0) {
      const farSfu = await DelayProxy.create(sfu.wsUrl, RTT_MS / 2);
      proxies.push(farSfu);
      const started = await startWebServer(edgeApi.url, { SFU_PUBLIC_URL: farSfu.url });
      farWeb = started.process;
      const farPages = await DelayProxy.create(started.url, RTT_MS / 2);
      proxies.push(farPages);
      for (let i = 0; i < VISITS_OVER_NETWORK; i++) {
        const visit = await visitShowPage(`${farPages.url}/shows/${show.id}`);
        farVisits.push(visit);
        process.stderr.write(`first-frame: ${RTT_MS} ms away, visit ${i + 1}: ${JSON.stringify(visit)}\n`);
      }
    }

    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const pct = (values: number[], p: number) => sorted(values)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;
    const firstFrames = visits.map((v) => v.first_frame_ms);
    const domReady = visits.map((v) => v.dom_content_loaded_ms);
    const result = {
      benchmark: 'first-frame',
      date: new Date().toISOString(),
      machine: `${availableParallelism()} cores, Node ${process.version}, Chromium headless; edge API, sfu, web and browser share the machine`,
      method: 'fresh browser context per visit; navigation start to the first frame presented by the player (requestVideoFrameCallback)',
      samples: visits.length,
      first_frame_p50_ms: pct(firstFrames, 50),
      first_frame_p95_ms: pct(firstFrames, 95),
      first_frame_max_ms: Math.max(...firstFrames),
      dom_content_loaded_p50_ms: pct(domReady, 50),
      goal_first_frame_within_1000_ms: pct(firstFrames, 95) <= 1000,
      from_home_page: {
        method: 'a fresh browser opens the home page, waits for it to settle, and taps the live show; from the tap to the first presented frame (in-app navigation)',
        samples: fromHome.length,
        p50_ms: pct(fromHome, 50),
        p95_ms: pct(fromHome, 95),
        max_ms: fromHome.length ? Math.max(...fromHome) : 0,
      },
      over_network: {
        method: `as the first series, with the web server and the sfu's signaling ${RTT_MS} ms of round trip away (delaying TCP proxies; WebRTC media is not delayed)`,
        rtt_ms: RTT_MS,
        samples: farVisits.length,
        p50_ms: pct(farVisits.map((v) => v.first_frame_ms), 50),
        p95_ms: pct(farVisits.map((v) => v.first_frame_ms), 95),
        visits: farVisits,
      },
      visits,
      load_average: { start: Math.round(loadAtStart * 10) / 10, end: Math.round(loadavg()[0]! * 10) / 10 },
      duration_s: Math.round((performance.now() - startedAt) / 1000),
    };
    writeBenchResult('first-frame', result);
    console.log('');
    console.log('opening the live show page → first video frame (fresh browser each visit)');
    console.log(`samples ${result.samples}   p50 ${result.first_frame_p50_ms} ms   p95 ${result.first_frame_p95_ms} ms   max ${result.first_frame_max_ms} ms   (page ready p50 ${result.dom_content_loaded_p50_ms} ms)`);
    console.log(`tapping the show on the home page → first video frame: samples ${fromHome.length}   p50 ${result.from_home_page.p50_ms} ms   p95 ${result.from_home_page.p95_ms} ms   max ${result.from_home_page.max_ms} ms`);
    if (farVisits.length) console.log(`opening it ${RTT_MS} ms of round trip away → first video frame: samples ${farVisits.length}   p50 ${result.over_network.p50_ms} ms   p95 ${result.over_network.p95_ms} ms`);
    console.log(`goal: first frame within 1 s of opening the page (p95): ${result.goal_first_frame_within_1000_ms ? 'met' : 'NOT met'}`);
    console.log(`results in bench/results/first-frame.json (${result.duration_s} s)`);
  } finally {
    await browser?.close();
    for (const proxy of proxies) await proxy.close();
    await farWeb?.stop();
    await web?.stop();
    await sfu?.stop();
    await edgeApi?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
