/**
 * `npm run bench -- rtmp-latency` (or `node bench/rtmp-latency.ts`): glass-to-glass latency of an OBS
 * show, from the frame entering the seller's encoder to the frame on a shopper's screen: x264 + AAC
 * over RTMP into the transcoder (node-media-server), forwarded by FFmpeg into the sfu as plain RTP
 * (H.264 copied, AAC to Opus), and played by the web app's own Viewer in Chromium over WebRTC.
 *
 * The clock: this script paints the wall-clock time as black and white blocks into raw frames
 * (the canvas clock of bench/webrtc-latency/clock.ts, same code) and pipes them, in real time, into
 * FFmpeg playing OBS; the page reads the blocks back from every frame the player presents.
 *
 * Two encoder settings in the same run, alternating by round:
 * - `documented`: what README.md tells sellers to set in OBS (x264, CBR, keyframe every 1 s,
 *   veryfast, baseline, tune zerolatency);
 * - `defaults`: OBS's x264 left as it comes (veryfast, and x264's own defaults otherwise: High
 *   profile with B-frames and lookahead, keyframes every 250 frames). The transcoder re-encodes
 *   that for browsers: the figure is what a seller pays for not changing the settings.
 * And, with the documented settings, the time a shopper joining mid-show waits for the first frame
 * (from the player's start to its first presented frame: FFmpeg cannot answer keyframe requests, so
 * it includes the wait for the next keyframe).
 *
 * Runs in a private network namespace (WebRTC over 127.0.0.1): outside one it re-runs itself inside.
 * Writes bench/results/rtmp-latency.json and prints a table. Options (environment): ROUNDS (2),
 * MEASURE_SECONDS (10), VIEWERS (8, for the first-frame samples), SIZE (1280x720).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueToken, newId, SfuStats, type PeerRole } from '@mytaek1/contracts';
import { freePort, launchChromium } from '@mytaek1/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../transcoder/src/config.ts';
import { InMemoryStreamKeyVerifier } from '../transcoder/src/ingest/InMemoryStreamKeyVerifier.ts';
import { createConsoleLogger } from '../transcoder/src/logger.ts';
import { startSfuProcess, type SfuProcess } from '../sfu/src/testing/sfuProcess.ts';
import { TranscoderService } from '../transcoder/src/TranscoderService.ts';
import { type ClockPage, serveClockPage } from './lib/clockPage.ts';
import { inNetworkNamespace } from './lib/networkNamespace.ts';
import { fmt, quantile, round1, roundAll } from './lib/stats.ts';
import { COLS, encode, ROWS, type Measurement } from './webrtc-latency/clock.ts';
import { writeBenchResult } from './lib/results.ts';

const scriptPath = join(import.meta.dirname, 'rtmp-latency.ts');

type Variant = 'documented' | 'defaults';

const FRAME_RATE = 30;
/** What README.md's "Streaming from OBS" asks for, as FFmpeg options for libx264. */
const DOCUMENTED_X264 = ['-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k'];
/** OBS's x264 untouched: its veryfast preset, x264's defaults for everything else. */
const DEFAULT_X264 = ['-preset', 'veryfast', '-b:v', '2500k'];

await inNetworkNamespace(scriptPath, main);

type RoundResult = { round: number; variant: Variant; samples: number; p50: number; p95: number; unreadable: number; reencoded: boolean | undefined; note?: string };

async function main(): Promise<void> {
  const ROUNDS = Number(process.env.ROUNDS ?? 2);
  const MEASURE_MS = Number(process.env.MEASURE_SECONDS ?? 10) * 1000;
  const VIEWERS = Number(process.env.VIEWERS ?? 8);
  const [WIDTH, HEIGHT] = (process.env.SIZE ?? '1280x720').split('x').map(Number) as [number, number];
  const startedAt = performance.now();
  const hardStop = setTimeout(() => {
    console.error('rtmp-latency: over time; stopping');
    void cleanup().finally(() => process.exit(1));
  }, 15 * 60_000);
  hardStop.unref();

  const workDir = mkdtempSync(join(tmpdir(), 'mytaek1-rtmp-latency-'));
  const tokenSecret = randomBytes(32).toString('hex');
  const verifier = InMemoryStreamKeyVerifier.create();
  let clockPage: ClockPage | undefined;
  let edgeApi: Server | undefined;
  let sfu: SfuProcess | undefined;
  let transcoder: TranscoderService | undefined;
  let browser: Browser | undefined;
  let source: ClockSource | undefined;
  const contexts = new Set<BrowserContext>();

  async function cleanup(): Promise<void> {
    await Promise.allSettled([...contexts].map((context) => context.close()));
    await browser?.close().catch(() => undefined);
    await source?.stop();
    await transcoder?.close().catch(() => undefined);
    await sfu?.stop().catch(() => undefined);
    await clockPage?.close();
    await new Promise<void>((resolve) => (edgeApi ? edgeApi.close(() => resolve()) : resolve()));
    edgeApi?.closeAllConnections();
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

  const pooled: Record<Variant, number[]> = { documented: [], defaults: [] };
  const rounds: RoundResult[] = [];
  const firstFrames: number[] = [];
  let defaultsReencoded: boolean | undefined;
  try {
    // The page: the app's Viewer and the clock reader, as webrtc-latency bundles them.
    clockPage = await serveClockPage({ entry: join(import.meta.dirname, 'webrtc-latency', 'page.ts'), title: 'rtmp-latency', workDir });
    const pageUrl = clockPage.url;

    // The show events the transcoder reports (publish started, ended, replay ready) are accepted and dropped.
    edgeApi = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(204).end());
    });
    const edgeApiPort = await freePort();
    await new Promise<void>((resolve) => edgeApi!.listen(edgeApiPort, '127.0.0.1', resolve));

    sfu = await startSfuProcess({ tokenSecret });
    transcoder = await TranscoderService.create(
      loadConfig({
        RTMP_PORT: '0',
        TRANSCODER_HTTP_PORT: '0',
        MEDIA_DIR: join(workDir, 'media'),
        SFU_URL: sfu.httpUrl,
        TOKEN_SECRET: tokenSecret,
        EDGE_API_URL: `http://127.0.0.1:${edgeApiPort}`,
        PUBLISH_RESUME_GRACE_MS: '0',
      }),
      { streamKeyVerifier: verifier, logger: createConsoleLogger('error', 'transcoder') },
    );
    browser = await launchChromium({
      loopbackWebRtc: true,
      args: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
    });
    const chromiumVersion = browser.version();

    const openViewer = async (showId: string): Promise<Page> => {
      const context = await browser!.newContext({ viewport: { width: 1300, height: 960 } });
      contexts.add(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
      await page.exposeFunction('mintGrant', async (role: PeerRole) => ({
        token: await issueToken({ aud: 'sfu', sub: `bench-${role}-${newId()}`, show: showId, role }, tokenSecret, { ttlSeconds: 300 }),
        role,
      }));
      await page.goto(pageUrl);
      await page.waitForFunction(() => 'bench' in window);
      return page;
    };
    const closePage = async (page: Page) => {
      await page.evaluate(() => window.bench.stop()).catch(() => undefined);
      contexts.delete(page.context());
      await page.context().close();
    };
    /** Starts the app's Viewer on the page; resolves with ms from its start to the first presented frame. */
    const watchUntilFirstFrame = (page: Page, showId: string, timeoutMs: number) =>
      page.evaluate(
        ({ url, id, ms }) =>
          new Promise<number>((resolve, reject) => {
            const video = document.querySelector<HTMLVideoElement>('#remote')!;
            const start = performance.now();
            const timer = setTimeout(() => reject(new Error(`no frame within ${ms} ms`)), ms);
            video.requestVideoFrameCallback(() => {
              clearTimeout(timer);
              resolve(performance.now() - start);
            });
            window.bench.watch(url, id);
          }),
        { url: sfu!.httpUrl, id: showId, ms: timeoutMs },
      );
    const reencodedNow = async (showId: string) => {
      const stats = SfuStats.parse(await (await fetch(`${sfu!.httpUrl}/stats`)).json());
      return stats.shows.find((show) => show.show === showId)?.ingest?.source?.videoReencoded;
    };

    const runVariant = async (round: number, variant: Variant) => {
      const streamKey = `sk_bench_${newId().replaceAll('-', '')}`;
      const showId = newId();
      verifier.grant(streamKey, { showId, sellerId: newId() });
      const accepted = new Promise<void>((resolve) => {
        const onAccepted = (publish: { showId: string }) => {
          if (publish.showId !== showId) return;
          transcoder!.ingest.off('publishAccepted', onAccepted);
          resolve();
        };
        transcoder!.ingest.on('publishAccepted', onAccepted);
      });
      source = startClockSource(`${transcoder!.ingest.publishUrl}/${streamKey}`, { width: WIDTH, height: HEIGHT, x264: variant === 'documented' ? DOCUMENTED_X264 : DEFAULT_X264, ready: accepted });
      const viewer = await openViewer(showId);
      try {
        // Up to 20 s: the forwarder probes, then a keyframe must come (x264's default interval is 250 frames).
        // The player waits in the room for the ingest's producers, which come once the forwarder has probed the stream.
        const firstFrameMs = await watchUntilFirstFrame(viewer, showId, 20_000);
        // Let the pipeline settle (bitrate ramp, jitter buffers) before sampling.
        await viewer.waitForTimeout(3_000);
        const measurement: Measurement = await viewer.evaluate(({ ms }) => window.bench.measure(ms), { ms: MEASURE_MS });
        const reencoded = await reencodedNow(showId);
        if (variant === 'defaults') defaultsReencoded = reencoded;
        record(round, variant, measurement, reencoded, `first frame after ${Math.round(firstFrameMs)} ms`);

        if (variant === 'documented' && firstFrames.length < VIEWERS) {
          // Shoppers joining mid-show, one at a time, each in a fresh context.
          const wanted = Math.ceil(VIEWERS / Math.max(1, Math.ceil(ROUNDS / 2)));
          for (let i = 0; i < wanted && firstFrames.length < VIEWERS; i++) {
            const late = await openViewer(showId);
            // A random moment in the keyframe interval, as real arrivals are.
            await late.waitForTimeout(Math.random() * 1_000);
            try {
              firstFrames.push(await watchUntilFirstFrame(late, showId, 10_000));
            } finally {
              await closePage(late);
            }
          }
        }
      } finally {
        await closePage(viewer);
        await source.stop();
        source = undefined;
        // The next variant starts on a machine at rest: this one's FFmpegs (an HLS pipeline, a forwarder
        // that may re-encode) have finished, so they do not take CPU from the next one's measurement.
        const quietBy = Date.now() + 15_000;
        while (Date.now() < quietBy && (transcoder!.pipelines.liveShowIds.length > 0 || (transcoder!.forwarders?.showIds.length ?? 0) > 0)) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const record = (round: number, variant: Variant, measurement: Measurement, reencoded: boolean | undefined, note: string) => {
      pooled[variant].push(...measurement.latencies);
      const sorted = [...measurement.latencies].sort((a, b) => a - b);
      rounds.push({ round, variant, samples: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), unreadable: measurement.unreadable, reencoded, note });
      console.log(`  round ${round} ${variant.padEnd(10)} ${String(sorted.length).padStart(4)} samples  p50 ${fmt(quantile(sorted, 0.5))}  p95 ${fmt(quantile(sorted, 0.95))} ms  (${reencoded ? 're-encoded by the transcoder, ' : ''}${note})`);
    };

    const loadAtStart = loadavg()[0]!;
    console.log(`rtmp-latency: ${ROUNDS} rounds, ${MEASURE_MS / 1000} s of samples per variant and round, ${WIDTH}x${HEIGHT} at ${FRAME_RATE} fps, Chromium ${chromiumVersion}`);
    if (loadAtStart > availableParallelism()) {
      console.log(`  warning: the machine is busy (load ${loadAtStart.toFixed(1)} on ${availableParallelism()} cores); latencies will be higher and noisier than on a quiet machine`);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const order: Variant[] = round % 2 === 1 ? ['documented', 'defaults'] : ['defaults', 'documented'];
      for (const variant of order) await runVariant(round, variant);
    }

    const summary = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { samples: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
    };
    const documented = summary(pooled.documented);
    const defaults = summary(pooled.defaults);
    const firstFrame = summary(firstFrames);
    const goals = { p95_at_most_150_ms: documented.p95 <= 150, first_frame_p95_at_most_1000_ms: firstFrame.p95 <= 1000 };
    const result = {
      benchmark: 'rtmp-latency',
      date: new Date().toISOString(),
      chromium: chromiumVersion,
      method: `clock painted into raw ${WIDTH}x${HEIGHT} frames piped in real time into FFmpeg (libx264 + AAC over RTMP), transcoder forwarding to the sfu, the app's Viewer in Chromium reading the clock from presented frames`,
      p50_ms: round1(documented.p50),
      p95_ms: round1(documented.p95),
      p99_ms: round1(documented.p99),
      samples: documented.samples,
      default_encoder_p50_ms: round1(defaults.p50),
      default_encoder_p95_ms: round1(defaults.p95),
      default_encoder_samples: defaults.samples,
      default_encoder_reencoded: defaultsReencoded,
      default_cost_p95_ms: round1(defaults.p95 - documented.p95),
      first_frame_ms_p50: round1(firstFrame.p50),
      first_frame_ms_p95: round1(firstFrame.p95),
      first_frame_samples: firstFrame.samples,
      documented_encoder_args: DOCUMENTED_X264.join(' '),
      default_encoder_args: DEFAULT_X264.join(' '),
      goals,
      paths: { documented: roundAll(documented), defaults: roundAll(defaults), first_frame: roundAll(firstFrame) },
      rounds,
      measure_seconds_per_round: MEASURE_MS / 1000,
      duration_s: round1((performance.now() - startedAt) / 1000),
      load_average: { start: round1(loadAtStart), end: round1(loadavg()[0]!), cores: availableParallelism() },
    };
    writeBenchResult('rtmp-latency', result);

    console.log('');
    console.log('OBS encoder settings                          samples    p50 ms    p95 ms    p99 ms    min    max');
    const line = (label: string, s: ReturnType<typeof summary>) =>
      console.log(`${label.padEnd(46)}${String(s.samples).padStart(7)}${fmt(s.p50).padStart(10)}${fmt(s.p95).padStart(10)}${fmt(s.p99).padStart(10)}${fmt(s.min).padStart(7)}${fmt(s.max).padStart(7)}`);
    line('documented (zerolatency, baseline, 1 s keys)', documented);
    line(`x264 defaults${defaultsReencoded ? ' (re-encoded by us)' : ''}`, defaults);
    line('first frame, a shopper joining mid-show', firstFrame);
    console.log('');
    console.log(`goal: p95 ≤ 150 ms with the documented settings: ${goals.p95_at_most_150_ms ? 'met' : 'NOT met'} (${fmt(documented.p95)} ms)`);
    console.log(`goal: first frame within a second (p95): ${goals.first_frame_p95_at_most_1000_ms ? 'met' : 'NOT met'} (${fmt(firstFrame.p95)} ms)`);
    console.log(`the defaults cost ${fmt(defaults.p95 - documented.p95)} ms at p95`);
    console.log(`load average ${result.load_average.start} → ${result.load_average.end} on ${result.load_average.cores} cores; results in bench/results/rtmp-latency.json (${result.duration_s} s)`);
    if (documented.samples === 0 || defaults.samples === 0) process.exitCode = 1;
  } catch (error) {
    console.error(error);
    if (sfu) console.error(`sfu log:\n${sfu.process.output().split('\n').slice(-30).join('\n')}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(hardStop);
  }
}

interface ClockSource {
  stop(): Promise<void>;
}

/**
 * OBS, as far as the network sees it: raw frames with the clock painted in, written to FFmpeg's
 * stdin as they are "captured" (30 per second, paced from a fixed start), encoded with libx264 and
 * AAC and published over RTMP. The clock value is the time the frame enters the encoder.
 *
 * Capture starts once the publish is accepted (`ready`), when FFmpeg starts its real-time audio
 * clock: frames captured before that would sit in FFmpeg's queue for as long as its start-up took,
 * putting video behind audio by that much for the whole run, and the viewer's audio/video sync
 * then holds every frame back by the same amount (it made two runs of the same settings differ by
 * 400 ms). One frame goes first, so that FFmpeg can open its input at all.
 */
function startClockSource(url: string, { width, height, x264, ready }: { width: number; height: number; x264: string[]; ready: Promise<void> }): ClockSource {
  const ffmpeg: ChildProcess = spawn(
    'ffmpeg',
    [
      '-hide_banner', '-loglevel', 'error',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', String(FRAME_RATE), '-thread_queue_size', '64', '-i', 'pipe:0',
      '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-map', '1:a',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', ...x264,
      '-c:a', 'aac', '-b:a', '128k',
      '-f', 'flv', url,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let errors = '';
  ffmpeg.stderr?.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  ffmpeg.stdin?.on('error', () => undefined);
  const lumaSize = width * height;
  const frame = Buffer.alloc(lumaSize * 1.5, 128);
  const cellWidth = Math.floor(width / COLS);
  const cellHeight = Math.floor(height / ROWS);
  const paint = (ms: number) => {
    const bits = encode(ms);
    for (let row = 0; row < ROWS; row++) {
      for (let y = row * cellHeight; y < (row + 1) * cellHeight; y++) {
        const line = y * width;
        for (let col = 0; col < COLS; col++) frame.fill(bits[row * COLS + col] ? 235 : 16, line + col * cellWidth, line + (col + 1) * cellWidth);
      }
    }
  };
  let startedAt = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = true;
  const tick = () => {
    if (!running) return;
    const due = Math.floor(((performance.now() - startedAt) * FRAME_RATE) / 1000);
    // One frame per tick, paced from the start: a late tick sends the frame now rather than a burst.
    if (due >= sent) {
      paint(Date.now());
      ffmpeg.stdin?.write(frame);
      sent = due + 1;
    }
    const next = startedAt + (sent * 1000) / FRAME_RATE;
    timer = setTimeout(tick, Math.max(0, next - performance.now()));
  };
  paint(Date.now());
  ffmpeg.stdin?.write(frame);
  void Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 10_000))]).then(() => {
    // Frame 1 onwards, paced from now.
    startedAt = performance.now() - 1000 / FRAME_RATE;
    sent = 1;
    tick();
  });
  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      if (ffmpeg.exitCode !== null || ffmpeg.signalCode !== null) {
        if (ffmpeg.exitCode !== 0 && errors) console.error(`source FFmpeg: ${errors.trim().split('\n').slice(-3).join(' | ')}`);
        return;
      }
      const exited = new Promise((resolve) => ffmpeg.once('exit', resolve));
      ffmpeg.kill('SIGKILL');
      await exited;
    },
  };
}
