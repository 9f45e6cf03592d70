import './testing/workerBin.ts';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { INGEST_VERIFY_PATH, newId, type IngestVerifyResponse } from '@mytaek1/contracts';
import { freePort, launchChromium, startProcess, type RunningProcess } from '@mytaek1/test-support';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { TEST_TOKEN_SECRET, tokenFor } from './testing/tokens.ts';
import { startWhipWhepPage, type ViewerStats } from './testing/whipWhepPage.ts';

/**
 * WHIP in, WHEP out, in Chromium with a WHIP/WHEP client we did not write (medooze's whip-whep), on a
 * loopback of its own (run in a network namespace: see scripts/netns-run.sh). The proof is on the
 * WHEP side: frames presented by a <video> element (requestVideoFrameCallback) and decoded
 * (getStats' framesDecoded), and audio packets received.
 */

const FRAMES_WANTED = 40;
const SFU_DIR = fileURLToPath(new URL('..', import.meta.url));
const STREAM_KEY = 'sk_live_media_test_key';

describe('WHIP and WHEP in Chromium', () => {
  let browser: Browser;
  let page: Page;
  let pageServer: Awaited<ReturnType<typeof startWhipWhepPage>>;
  let sfu: TestSfu;
  let edgeApi: Server;
  let streamKeyShow = '';

  beforeAll(async () => {
    // A stand-in for the edge API's stream key check: STREAM_KEY opens `streamKeyShow`.
    edgeApi = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const known = request.url === INGEST_VERIFY_PATH && request.headers.authorization === `Bearer ${TEST_TOKEN_SECRET}` && JSON.parse(body).streamKey === STREAM_KEY;
        const verdict: IngestVerifyResponse = known ? { ok: true, showId: streamKeyShow, sellerId: newId() } : { ok: false, reason: 'unknown_key' };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
      });
    });
    await new Promise<void>((resolve) => edgeApi.listen(0, '127.0.0.1', resolve));
    const address = edgeApi.address();
    const edgeApiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    // Two workers and two consumers per router: each WHEP viewer of a show gets a router (and a core) of its own.
    sfu = await startSfu({ workers: 2, maxConsumersPerRouter: 2, edgeApiUrl, portRange: { min: 40000, max: 44999 } });
    pageServer = await startWhipWhepPage();
    browser = await launchChromium({ loopbackWebRtc: true });
  });

  afterEach(async () => {
    await page?.evaluate(() => (globalThis as unknown as { stopAll(): Promise<void> }).stopAll()).catch(() => {});
    await page?.close();
  });

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    await sfu?.close();
    edgeApi?.closeAllConnections();
    await new Promise((resolve) => edgeApi?.close(resolve));
  });

  async function openPage(): Promise<Page> {
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') console.warn(`[page] ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) console.warn(`[page] ${response.request().method()} ${response.url()} -> ${response.status()}`);
    });
    await page.goto(pageServer.url);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    return page;
  }

  type PublishOptions = { codec?: string; simulcast?: boolean };
  const publish = (url: string, token: string, options: PublishOptions = {}) =>
    page.evaluate(
      ([url, token, options]) => (globalThis as unknown as { publish(u: string, t: string, o: PublishOptions): Promise<number> }).publish(url, token, options),
      [url, token, options] as const,
    );
  const watch = (url: string, token: string) =>
    page.evaluate(([url, token]) => (globalThis as unknown as { watch(u: string, t: string): Promise<number> }).watch(url, token), [url, token] as const);
  const viewerStats = (index: number) => page.evaluate((index) => (globalThis as unknown as { viewerStats(i: number): Promise<ViewerStats> }).viewerStats(index), index);

  /** Waits until the viewer has presented and decoded FRAMES_WANTED frames, and received audio. */
  async function decodes(index: number, timeoutMs = 30_000): Promise<ViewerStats> {
    const deadline = performance.now() + timeoutMs;
    let stats = await viewerStats(index);
    while (!(stats.frames >= FRAMES_WANTED && stats.framesDecoded >= FRAMES_WANTED && stats.audioPackets > 50)) {
      if (performance.now() > deadline) throw new Error(`viewer ${index} did not decode enough: ${JSON.stringify(stats)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      stats = await viewerStats(index);
    }
    return stats;
  }

  it('carries VP8 and Opus from a WHIP publisher (token) to WHEP viewers spread over two workers', async () => {
    const show = newId();
    await openPage();
    const startedAt = performance.now();
    await publish(`${sfu.server.url}/whip/${show}`, await tokenFor(show, 'publisher'));
    const room = sfu.server.rooms.get(show)!;
    expect(room.producers.map((producer) => producer.rtpParameters.codecs[0]?.mimeType)).toEqual(['audio/opus', 'video/VP8']);

    const first = await watch(`${sfu.server.url}/whep/${show}`, await tokenFor(show, 'viewer'));
    const second = await watch(`${sfu.server.url}/whep/${show}`, await tokenFor(show, 'viewer'));
    const [a, b] = [await decodes(first), await decodes(second)];
    console.info(`WHIP -> WHEP (VP8): ${a.frames} and ${b.frames} frames presented, ${Math.round(performance.now() - startedAt)} ms after publishing began`);
    for (const stats of [a, b]) {
      expect(stats.videoCodec).toBe('video/VP8');
      expect(stats.audioCodec).toBe('audio/opus');
      expect(stats.width).toBeGreaterThan(0);
    }
    // Each viewer on an edge router of its own (Chromium's payload types), on different workers.
    const edges = room.routers.filter((router) => router.role === 'edge');
    expect(edges).toHaveLength(2);
    expect(new Set(edges.map((edge) => edge.worker.pid)).size).toBe(2);

    // WHEPClient.stop and WHIPClient.stop send DELETE: every session ends.
    expect(sfu.server.whipWhep.sessions.size).toBe(3);
    await page.evaluate(() => (globalThis as unknown as { stopAll(): Promise<void> }).stopAll());
    await expect.poll(() => sfu.server.whipWhep.sessions.size, { timeout: 5_000 }).toBe(0);
    expect(room.producers).toEqual([]);
  });

  it('carries H.264 from a WHIP publisher with a stream key to a WHEP viewer', async () => {
    const show = newId();
    streamKeyShow = show;
    await openPage();
    await publish(`${sfu.server.url}/whip/${show}`, STREAM_KEY, { codec: 'video/H264' });
    const room = sfu.server.rooms.get(show)!;
    expect(room.producers.map((producer) => producer.rtpParameters.codecs[0]?.mimeType)).toEqual(['audio/opus', 'video/H264']);
    const viewer = await watch(`${sfu.server.url}/whep/${show}`, await tokenFor(show, 'viewer'));
    const stats = await decodes(viewer);
    expect(stats.videoCodec).toBe('video/H264');
    console.info(`WHIP (stream key) -> WHEP (H.264): ${stats.frames} frames presented, ${stats.framesDecoded} decoded`);
  });

  it('carries a simulcast WHIP publisher (three RIDs) to a WHEP viewer', async () => {
    const show = newId();
    await openPage();
    await publish(`${sfu.server.url}/whip/${show}`, await tokenFor(show, 'publisher'), { simulcast: true });
    const room = sfu.server.rooms.get(show)!;
    const video = room.producers.find((producer) => producer.kind === 'video')!;
    expect(video.type).toBe('simulcast');
    expect(video.rtpParameters.encodings?.map((encoding) => encoding.rid)).toEqual(['q', 'h', 'f']);
    const viewer = await watch(`${sfu.server.url}/whep/${show}`, await tokenFor(show, 'viewer'));
    const stats = await decodes(viewer);
    expect(stats.videoCodec).toBe('video/VP8');
    console.info(`WHIP simulcast -> WHEP: ${stats.frames} frames presented at ${stats.width} px wide`);
  });

  describe('across two sfu processes', () => {
    let edgeProcess: RunningProcess | undefined;

    afterAll(async () => {
      await edgeProcess?.stop();
    });

    it('plays on a WHEP viewer of a second sfu process what was published on the first', async () => {
      const port = await freePort();
      edgeProcess = startProcess(process.execPath, ['src/index.ts'], {
        cwd: SFU_DIR,
        env: {
          ...process.env,
          SFU_PORT: String(port),
          SFU_ORIGIN_URL: sfu.server.url,
          TOKEN_SECRET: TEST_TOKEN_SECRET,
          SFU_WORKERS: '1',
          RTC_MIN_PORT: '45000',
          RTC_MAX_PORT: '49999',
          SFU_LOG_LEVEL: 'warn',
        },
      });
      const edgeUrl = `http://127.0.0.1:${port}`;
      await expect.poll(async () => (await fetch(`${edgeUrl}/healthz`).catch(() => undefined))?.status, { timeout: 20_000, interval: 200 }).toBe(200);

      const show = newId();
      await openPage();
      await publish(`${sfu.server.url}/whip/${show}`, await tokenFor(show, 'publisher'));
      // The viewer asks the second process, which pipes the show from the first.
      const viewer = await watch(`${edgeUrl}/whep/${show}`, await tokenFor(show, 'viewer'));
      const stats = await decodes(viewer);
      expect(stats.videoCodec).toBe('video/VP8');
      expect(sfu.server.pipes.openPipes).toBe(1);
      console.info(`WHIP on process ${process.pid} -> WHEP on process ${edgeProcess.child.pid}: ${stats.frames} frames presented`);
    });
  });
});
