/**
 * `npm run bench -- hls-latency` (or `node bench/hls-latency.ts`): glass-to-glass latency of a browser
 * show watched over LL-HLS, the path of a shopper whose network blocks WebRTC.
 *
 * Source: a seller's page publishes the canvas clock (bench/webrtc-latency/clock.ts, 1280x720 at
 * 30 fps) with the app's own Publisher over WebRTC into the sfu (`node sfu/src/index.ts`, with
 * TRANSCODER_URL); the sfu tells the transcoder (in this process, as `npm start` runs it, with its
 * default settings) that the show has media; the transcoder takes the sfu's plain-RTP egress and
 * re-encodes it with x264 into fMP4 LL-HLS (segments of one keyframe interval, 16 frames: 0.53 s).
 * A shopper's page plays the live playlist with the app's own HlsPlayback (hls.js, the live player's
 * settings) and reads the clock back from every presented frame.
 *
 * Each round is a fresh show; samples start once the player has played for WARMUP_SECONDS. Runs in
 * a private network namespace (WebRTC on 127.0.0.1): outside one it re-runs itself inside. Writes
 * bench/results/hls-latency.json and prints a table. Options (environment): ROUNDS (2),
 * MEASURE_SECONDS (20), WARMUP_SECONDS (5), SEGMENT_FRAMES (16: the transcoder's SFU_HLS_SEGMENT_FRAMES),
 * LIVE_SYNC_SECONDS (the player's liveSyncDuration; the app's default when unset).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueToken, newId, type PeerRole } from '@mytaek1/contracts';
import { launchChromium } from '@mytaek1/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../transcoder/src/config.ts';
import { InMemoryStreamKeyVerifier } from '../transcoder/src/ingest/InMemoryStreamKeyVerifier.ts';
import { createConsoleLogger } from '../transcoder/src/logger.ts';
import { startSfuProcess, type SfuProcess } from '../sfu/src/testing/sfuProcess.ts';
import { TranscoderService } from '../transcoder/src/TranscoderService.ts';
import { LIVE_HLS_CONFIG } from '../web/src/lib/media/HlsPlayback.ts';
import { type ClockPage, serveClockPage } from './lib/clockPage.ts';
import { inNetworkNamespace } from './lib/networkNamespace.ts';
import { fmt, quantile, round1 } from './lib/stats.ts';
import { COLS, decode, elapsedSince, ROWS, type Measurement } from './webrtc-latency/clock.ts';
import { writeBenchResult } from './lib/results.ts';

const scriptPath = join(import.meta.dirname, 'hls-latency.ts');

await inNetworkNamespace(scriptPath, main);

type RoundResult = {
  round: number;
  samples: number;
  p50: number;
  p95: number;
  unreadable: number;
  heights: Record<number, number>;
  secondsToFirstFrame: number;
  /** Median of the video buffered past the playing position: the player's share of the latency. */
  bufferedAheadMs: number;
  /**
   * Median age of a segment's last frame when the playlist first lists the segment (read from the
   * clock in that frame): what the sfu and the transcoder take, before any player.
   */
  segmentAgeAtListingMs: number;
};

async function main(): Promise<void> {
  const ROUNDS = Number(process.env.ROUNDS ?? 2);
  const MEASURE_MS = Number(process.env.MEASURE_SECONDS ?? 20) * 1000;
  const WARMUP_MS = Number(process.env.WARMUP_SECONDS ?? 5) * 1000;
  const SEGMENT_FRAMES = Number(process.env.SEGMENT_FRAMES ?? 16);
  const liveSync = process.env.LIVE_SYNC_SECONDS ? Number(process.env.LIVE_SYNC_SECONDS) : undefined;
  const playerConfig = liveSync === undefined ? {} : { liveSyncDuration: liveSync };
  const startedAt = performance.now();
  const hardStop = setTimeout(() => {
    console.error('hls-latency: over time; stopping');
    void cleanup().finally(() => process.exit(1));
  }, 15 * 60_000);
  hardStop.unref();

  if (!process.env.MEDIASOUP_WORKER_BIN) throw new Error('MEDIASOUP_WORKER_BIN is not set (npm run bench sets it)');
  const workDir = mkdtempSync(join(tmpdir(), 'mytaek1-hls-latency-'));
  const tokenSecret = randomBytes(32).toString('hex');
  let clockPage: ClockPage | undefined;
  let sfu: SfuProcess | undefined;
  let transcoder: TranscoderService | undefined;
  let browser: Browser | undefined;
  const contexts = new Set<BrowserContext>();

  async function cleanup(): Promise<void> {
    await Promise.allSettled([...contexts].map((context) => context.close()));
    await browser?.close().catch(() => undefined);
    await sfu?.stop().catch(() => undefined);
    await transcoder?.close().catch(() => undefined);
    await clockPage?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

  const pooled: number[] = [];
  const rounds: RoundResult[] = [];
  try {
    clockPage = await serveClockPage({ entry: join(import.meta.dirname, 'hls-latency', 'page.ts'), title: 'hls-latency', workDir, videoSize: '640px;height:360px' });
    const pageUrl = clockPage.url;

    // The transcoder as `npm start` runs it (its defaults), on free ports; no edge API: replays are not under test.
    transcoder = await TranscoderService.create(
      loadConfig({
        RTMP_PORT: '0',
        TRANSCODER_HTTP_PORT: '0',
        MEDIA_DIR: join(workDir, 'media'),
        TOKEN_SECRET: tokenSecret,
        EDGE_API_URL: 'http://127.0.0.1:9',
        SFU_HLS_SEGMENT_FRAMES: String(SEGMENT_FRAMES),
        LOG_LEVEL: 'warn',
      }),
      { streamKeyVerifier: InMemoryStreamKeyVerifier.create(), logger: createConsoleLogger(process.env.TRANSCODER_LOG === 'info' ? 'info' : 'warn', 'transcoder') },
    );
    const transcoderUrl = transcoder.http.url;
    sfu = await startSfuProcess({ tokenSecret, env: { TRANSCODER_URL: transcoderUrl } });
    const sfuWsUrl = sfu.wsUrl;
    browser = await launchChromium({
      loopbackWebRtc: true,
      args: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows', '--autoplay-policy=no-user-gesture-required'],
    });
    const chromiumVersion = browser.version();

    const openPage = async (showId: string, role: PeerRole): Promise<Page> => {
      const context = await browser!.newContext({ viewport: { width: 1300, height: 800 } });
      contexts.add(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
      await page.exposeFunction('mintGrant', async () => ({
        token: await issueToken({ aud: 'sfu', sub: `bench-${role}-${newId()}`, show: showId, role }, tokenSecret, { ttlSeconds: 600 }),
        role,
      }));
      await page.goto(pageUrl);
      await page.waitForFunction(() => 'hlsBench' in window);
      return page;
    };

    const loadAtStart = loadavg()[0]!;
    console.log(`hls-latency: ${ROUNDS} rounds, ${MEASURE_MS / 1000} s of samples each, segments of ${SEGMENT_FRAMES} frames at 30 fps (${(SEGMENT_FRAMES / 30).toFixed(3)} s), Chromium ${chromiumVersion}`);
    if (loadAtStart > availableParallelism()) {
      console.log(`  warning: the machine is busy (load ${loadAtStart.toFixed(1)} on ${availableParallelism()} cores); latencies will be higher and noisier than on a quiet machine`);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const showId = newId();
      const seller = await openPage(showId, 'publisher');
      const shopper = await openPage(showId, 'viewer');
      try {
        await seller.evaluate(({ url, id }) => window.hlsBench.publish(url, id), { url: sfuWsUrl, id: showId });
        const watchAt = performance.now();
        await shopper.evaluate(({ url, config }) => window.hlsBench.watchHls(url, config), { url: `${transcoderUrl}/live/${showId}/index.m3u8`, config: playerConfig });
        await shopper.waitForFunction(() => window.hlsBench.playbackState().time > 0.2, undefined, { timeout: 60_000, polling: 100 }).catch(async (error: unknown) => {
          const state = await shopper.evaluate(() => window.hlsBench.playbackState());
          const publisherState = await seller.evaluate(() => window.hlsBench.publisherState());
          throw new Error(`the HLS player did not start: player ${JSON.stringify(state)}, publisher ${publisherState}`, { cause: error });
        });
        const secondsToFirstFrame = (performance.now() - watchAt) / 1000;
        await shopper.waitForTimeout(WARMUP_MS);
        const segmentWatch = watchSegments(`${transcoderUrl}/live/${showId}`);
        const aheadSamples: number[] = [];
        const sampling = setInterval(() => void shopper.evaluate(() => window.hlsBench.playbackState().ahead).then((ahead) => aheadSamples.push(ahead), () => undefined), 250);
        const measurement: Measurement = await shopper.evaluate(({ ms }) => window.hlsBench.measure(ms), { ms: MEASURE_MS });
        clearInterval(sampling);
        const segmentAges = (await segmentWatch.stop()).sort((a, b) => a - b);
        const bufferedAheadMs = quantile([...aheadSamples].sort((a, b) => a - b), 0.5) * 1000;
        pooled.push(...measurement.latencies);
        const sorted = [...measurement.latencies].sort((a, b) => a - b);
        const result: RoundResult = { round, samples: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), unreadable: measurement.unreadable, heights: measurement.heights, secondsToFirstFrame: round1(secondsToFirstFrame), bufferedAheadMs: round1(bufferedAheadMs), segmentAgeAtListingMs: round1(quantile(segmentAges, 0.5)) };
        rounds.push(result);
        console.log(`  round ${round}: ${String(result.samples).padStart(4)} samples  p50 ${fmt(result.p50)}  p95 ${fmt(result.p95)} ms  (a segment's last frame is ${fmt(result.segmentAgeAtListingMs)} ms old when listed; player ${fmt(result.bufferedAheadMs)} ms behind its newest data; first frame ${result.secondsToFirstFrame} s after it started; ${result.unreadable} unreadable frames)`);
      } finally {
        for (const page of [shopper, seller]) {
          await page.evaluate(() => window.hlsBench.stop()).catch(() => undefined);
          contexts.delete(page.context());
          await page.context().close();
        }
      }
    }

    const sorted = [...pooled].sort((a, b) => a - b);
    const summary = { samples: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
    const goalMet = summary.p95 <= 2_000;
    const result = {
      benchmark: 'hls-latency',
      date: new Date().toISOString(),
      chromium: chromiumVersion,
      method:
        'canvas clock 1280x720 at 30 fps, published by the app’s Publisher (WebRTC, simulcast) into the sfu; the transcoder re-encodes the sfu’s plain-RTP egress (x264 veryfast zerolatency) into fMP4 LL-HLS; played by the app’s HlsPlayback (hls.js) in Chromium',
      source: 'browser publisher through the sfu egress',
      segment_seconds: round1000(SEGMENT_FRAMES / 30),
      player: { ...LIVE_HLS_CONFIG, ...playerConfig },
      p50_ms: round1(summary.p50),
      p95_ms: round1(summary.p95),
      p99_ms: round1(summary.p99),
      min_ms: round1(summary.min),
      max_ms: round1(summary.max),
      samples: summary.samples,
      goals: { p95_at_most_2000_ms: goalMet },
      rounds,
      measure_seconds_per_round: MEASURE_MS / 1000,
      duration_s: round1((performance.now() - startedAt) / 1000),
      load_average: { start: round1(loadAtStart), end: round1(loadavg()[0]!), cores: availableParallelism() },
    };
    writeBenchResult('hls-latency', result);

    console.log('');
    console.log('path                                      samples    p50 ms    p95 ms    p99 ms    min    max');
    console.log(
      `${'browser → sfu → transcoder → hls.js'.padEnd(42)}${String(summary.samples).padStart(7)}${fmt(summary.p50).padStart(10)}${fmt(summary.p95).padStart(10)}${fmt(summary.p99).padStart(10)}${fmt(summary.min).padStart(7)}${fmt(summary.max).padStart(7)}`,
    );
    console.log('');
    console.log(`goal: p95 ≤ 2000 ms: ${goalMet ? 'met' : 'NOT met'} (${fmt(summary.p95)} ms)`);
    console.log(`load average ${result.load_average.start} → ${result.load_average.end} on ${result.load_average.cores} cores; results in bench/results/hls-latency.json (${result.duration_s} s)`);
    if (summary.samples === 0) process.exitCode = 1;
  } catch (error) {
    console.error(error);
    if (sfu) console.error(`sfu log:\n${sfu.process.output().split('\n').slice(-30).join('\n')}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(hardStop);
  }
}

/**
 * Follows the live playlist with blocking reloads, as hls.js does; for each new segment, notes when
 * it was listed, then decodes the segment's last frame with FFmpeg and reads the clock in it.
 * Resolves, when stopped, with the ages (ms) of those frames at listing time.
 */
function watchSegments(baseUrl: string): { stop(): Promise<number[]> } {
  const ages: number[] = [];
  let running = true;
  const loop = (async () => {
    let next: number | undefined;
    let init: Buffer | undefined;
    while (running) {
      const response = await fetch(`${baseUrl}/index.m3u8${next === undefined ? '' : `?_HLS_msn=${next}`}`).catch(() => undefined);
      const listedAt = Date.now();
      if (!response?.ok) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      const text = await response.text();
      const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
      const uris = text.split('\n').filter((line) => line && !line.startsWith('#'));
      if (!uris.length) continue;
      const last = sequence + uris.length - 1;
      const fresh = next !== undefined && last >= next;
      next = last + 1;
      if (!fresh) continue;
      init ??= Buffer.from(await (await fetch(`${baseUrl}/init.mp4`)).arrayBuffer());
      const segment = Buffer.from(await (await fetch(`${baseUrl}/${uris.at(-1)}`)).arrayBuffer());
      const sent = await lastFrameClock(Buffer.concat([init, segment]));
      if (sent !== undefined) ages.push(elapsedSince(sent, listedAt));
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.race([loop, new Promise((resolve) => setTimeout(resolve, 4_000))]);
      return ages;
    },
  };
}

/** The canvas clock's value in the last frame of an fMP4 segment (init section first), if readable. */
function lastFrameClock(media: Buffer): Promise<number | undefined> {
  const cell = 8;
  const width = COLS * cell;
  const height = ROWS * cell;
  return new Promise((resolve) => {
    const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'mp4', '-i', 'pipe:0', '-an', '-vf', `scale=${width}:${height}`, '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const chunks: Buffer[] = [];
    ffmpeg.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    ffmpeg.stdin.on('error', () => undefined);
    ffmpeg.stdin.end(media);
    ffmpeg.once('close', () => {
      const frames = Buffer.concat(chunks);
      const frameBytes = width * height;
      if (frames.length < frameBytes) return resolve(undefined);
      const lastFrame = frames.subarray(frames.length - (frames.length % frameBytes) - frameBytes);
      const bits = Array.from({ length: COLS * ROWS }, (_, i) => lastFrame[(Math.floor(i / COLS) * cell + cell / 2) * width + (i % COLS) * cell + cell / 2]! > 127);
      resolve(decode(bits));
    });
  });
}

function round1000(value: number): number {
  return Math.round(value * 1000) / 1000;
}
