/**
 * `npm run bench -- webrtc-latency` (or `node bench/webrtc-latency.ts`): glass-to-glass latency of live
 * video through the sfu, measured with the canvas clock (bench/webrtc-latency/clock.ts), against a
 * direct RTCPeerConnection between two pages as the floor, in the same run.
 *
 * - sfu: a publisher page sends the clock (1280x720, 30 fps) as three simulcast layers with the app's
 *   own Publisher, the sfu (`node sfu/src/index.ts`) forwards it, a viewer page receives it with the
 *   app's own Viewer, asking for the top layer. Samples are taken once the top layer arrives.
 * - p2p: the same clock, one VP8 stream at the top layer's bitrate, page to page.
 * - local: the clock's own track in a <video> of the same page: what the method itself costs.
 *
 * Rounds alternate the order of the paths, with fresh pages each time: results move in ~16.7 ms
 * steps and one connection locks onto one phase, so several are pooled. WebRTC on 127.0.0.1 needs a
 * private network namespace: run outside one, this script re-runs itself inside (scripts/netns-run.sh).
 * Writes bench/results/webrtc-latency.json and prints a table.
 *
 * Options (environment): ROUNDS (3), MEASURE_SECONDS (8), WARMUP_SECONDS (15, the longest wait for the
 * top layer), SIMULCAST (1; 0 publishes one stream through the sfu, to tell the sfu's cost from simulcast's).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueToken, newId, type PeerRole } from '@mytaek1/contracts';
import { launchChromium } from '@mytaek1/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { assertMediaEnvironment, startSfuProcess, type SfuProcess } from '../sfu/src/testing/sfuProcess.ts';
import { type ClockPage, serveClockPage } from './lib/clockPage.ts';
import { inNetworkNamespace } from './lib/networkNamespace.ts';
import { fmt, quantile, round1, roundAll } from './lib/stats.ts';
import type { Measurement } from './webrtc-latency/clock.ts';
import { writeBenchResult } from './lib/results.ts';

const scriptPath = join(import.meta.dirname, 'webrtc-latency.ts');

// ---------------------------------------------------------------- into the namespace first

await inNetworkNamespace(scriptPath, main);

// ---------------------------------------------------------------- the run

type PathName = 'sfu' | 'p2p' | 'local';
type RoundResult = { round: number; path: PathName; samples: number; p50: number; p95: number; unreadable: number; heights: Record<number, number>; note?: string };

async function main(): Promise<void> {
  const ROUNDS = Number(process.env.ROUNDS ?? 3);
  const MEASURE_MS = Number(process.env.MEASURE_SECONDS ?? 8) * 1000;
  const WARMUP_MS = Number(process.env.WARMUP_SECONDS ?? 15) * 1000;
  const SIMULCAST = process.env.SIMULCAST !== '0';
  /** The run must end within three minutes: no new phase starts after this. */
  const BUDGET_MS = 150_000;
  const startedAt = performance.now();
  const hardStop = setTimeout(() => {
    console.error('webrtc-latency: over time; stopping');
    void cleanup().finally(() => process.exit(1));
  }, 175_000);
  hardStop.unref();

  assertMediaEnvironment();
  const workDir = mkdtempSync(join(tmpdir(), 'mytaek1-webrtc-latency-'));
  let clockPage: ClockPage | undefined;
  let sfu: SfuProcess | undefined;
  let browser: Browser | undefined;
  const contexts = new Set<BrowserContext>();

  async function cleanup(): Promise<void> {
    await Promise.allSettled([...contexts].map((context) => context.close()));
    await browser?.close().catch(() => undefined);
    await sfu?.stop().catch(() => undefined);
    await clockPage?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

  const pooled: Record<PathName, number[]> = { sfu: [], p2p: [], local: [] };
  const rounds: RoundResult[] = [];
  try {
    // The page: the app's media code and the clock, bundled for the browser.
    clockPage = await serveClockPage({ entry: join(import.meta.dirname, 'webrtc-latency', 'page.ts'), title: 'webrtc-latency', workDir });
    const pageUrl = clockPage.url;

    const tokenSecret = randomBytes(32).toString('hex');
    sfu = await startSfuProcess({ tokenSecret });
    browser = await launchChromium({
      loopbackWebRtc: true,
      // Pages of a benchmark are never in the foreground all at once: keep their timers and frames at full rate.
      args: ['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
    });
    const chromiumVersion = browser.version();

    const openPage = async (showId: string, role: PeerRole): Promise<Page> => {
      const context = await browser!.newContext({ viewport: { width: 1300, height: 960 } });
      contexts.add(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
      await page.exposeFunction('mintGrant', async () => ({
        token: await issueToken({ aud: 'sfu', sub: `bench-${role}-${newId()}`, show: showId, role }, tokenSecret, { ttlSeconds: 120 }),
        role,
      }));
      await page.goto(pageUrl);
      await page.waitForFunction(() => 'bench' in window);
      return page;
    };
    const closePages = async (...pages: Page[]) => {
      for (const page of pages) {
        await page.evaluate(() => window.bench.stop()).catch(() => undefined);
        contexts.delete(page.context());
        await page.context().close();
      }
    };
    const record = (round: number, path: PathName, measurement: Measurement, note?: string) => {
      pooled[path].push(...measurement.latencies);
      const sorted = [...measurement.latencies].sort((a, b) => a - b);
      rounds.push({ round, path, samples: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), unreadable: measurement.unreadable, heights: measurement.heights, ...(note ? { note } : {}) });
      console.log(`  round ${round} ${path.padEnd(5)} ${String(sorted.length).padStart(4)} samples  p50 ${fmt(quantile(sorted, 0.5))}  p95 ${fmt(quantile(sorted, 0.95))} ms${note ? `  (${note})` : ''}`);
    };

    const runSfu = async (round: number) => {
      const showId = newId();
      const publisher = await openPage(showId, 'publisher');
      const viewer = await openPage(showId, 'viewer');
      try {
        const connectAt = performance.now();
        await publisher.evaluate(({ url, id, simulcast }) => window.bench.publish(url, id, simulcast), { url: sfu!.wsUrl, id: showId, simulcast: SIMULCAST });
        await viewer.evaluate(({ url, id }) => window.bench.watch(url, id), { url: sfu!.wsUrl, id: showId });
        const height = await viewer.evaluate(({ ms }) => window.bench.waitForHeight(720, ms), { ms: WARMUP_MS });
        const state = await viewer.evaluate(() => window.bench.viewerState());
        const waited = ((performance.now() - connectAt) / 1000).toFixed(1);
        const note = height < 720 ? `top layer not reached in ${WARMUP_MS / 1000} s: ${height}p, viewer ${state.state}` : `720p after ${waited} s`;
        record(round, 'sfu', await viewer.evaluate(({ ms }) => window.bench.measure(ms), { ms: MEASURE_MS }), note);
      } finally {
        await closePages(viewer, publisher);
      }
    };
    const runP2p = async (round: number) => {
      const sender = await openPage('p2p', 'viewer');
      const receiver = await openPage('p2p', 'viewer');
      try {
        const offer = await sender.evaluate(() => window.bench.p2pOffer());
        const answer = await receiver.evaluate((sdp) => window.bench.p2pAnswer(sdp), offer);
        await sender.evaluate((sdp) => window.bench.p2pAccept(sdp), answer);
        const height = await receiver.evaluate(({ ms }) => window.bench.waitForHeight(720, ms), { ms: WARMUP_MS });
        // The sender's bandwidth estimate ramps up over the first seconds: let it settle, as the sfu path's did.
        await receiver.waitForTimeout(3_000);
        record(round, 'p2p', await receiver.evaluate(({ ms }) => window.bench.measure(ms), { ms: MEASURE_MS }), height < 720 ? `${height}p at first` : undefined);
      } finally {
        await closePages(sender, receiver);
      }
    };
    const runLocal = async (round: number) => {
      const page = await openPage('local', 'viewer');
      try {
        await page.evaluate(() => window.bench.local());
        await page.evaluate(({ ms }) => window.bench.waitForHeight(720, ms), { ms: 5_000 });
        record(round, 'local', await page.evaluate(({ ms }) => window.bench.measure(ms), { ms: Math.min(MEASURE_MS, 5_000) }));
      } finally {
        await closePages(page);
      }
    };

    const loadAtStart = loadavg()[0]!;
    console.log(`webrtc-latency: ${ROUNDS} rounds, ${MEASURE_MS / 1000} s of samples per path and round, Chromium ${chromiumVersion}`);
    if (loadAtStart > availableParallelism()) {
      console.log(`  warning: the machine is busy (load ${loadAtStart.toFixed(1)} on ${availableParallelism()} cores); latencies will be higher and noisier than on a quiet machine`);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      if (performance.now() - startedAt > BUDGET_MS) {
        console.log(`  (time budget reached: stopping after ${round - 1} rounds)`);
        break;
      }
      // Alternate which path goes first, so neither always runs on a fresher machine.
      const order = round % 2 === 1 ? [runSfu, runP2p] : [runP2p, runSfu];
      for (const run of order) await run(round);
      if (round === 1) await runLocal(round);
    }

    const summary = (path: PathName) => {
      const sorted = [...pooled[path]].sort((a, b) => a - b);
      return { samples: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99), min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN, mean: sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1) };
    };
    const sfuSummary = summary('sfu');
    const p2pSummary = summary('p2p');
    const localSummary = summary('local');
    const goals = { sfu_p95_at_most_80_ms: sfuSummary.p95 <= 80, sfu_p95_within_20_ms_of_p2p: sfuSummary.p95 - p2pSummary.p95 <= 20 };
    const result = {
      benchmark: 'webrtc-latency',
      date: new Date().toISOString(),
      chromium: chromiumVersion,
      method: `canvas clock, 1280x720 at 30 fps; sfu: ${SIMULCAST ? '3 simulcast layers' : 'one stream (SIMULCAST=0)'} (VP8) via the app’s Publisher and Viewer, samples once the top layer arrives; p2p: one VP8 stream, 1.5 Mbps cap`,
      simulcast: SIMULCAST,
      rounds_run: new Set(rounds.map((r) => r.round)).size,
      measure_seconds_per_round: MEASURE_MS / 1000,
      sfu_p50_ms: round1(sfuSummary.p50),
      sfu_p95_ms: round1(sfuSummary.p95),
      sfu_p99_ms: round1(sfuSummary.p99),
      sfu_samples: sfuSummary.samples,
      p2p_p50_ms: round1(p2pSummary.p50),
      p2p_p95_ms: round1(p2pSummary.p95),
      p2p_p99_ms: round1(p2pSummary.p99),
      p2p_samples: p2pSummary.samples,
      local_p50_ms: round1(localSummary.p50),
      local_p95_ms: round1(localSummary.p95),
      sfu_overhead_p95_ms: round1(sfuSummary.p95 - p2pSummary.p95),
      samples: sfuSummary.samples + p2pSummary.samples,
      goals,
      paths: { sfu: roundAll(sfuSummary), p2p: roundAll(p2pSummary), local: roundAll(localSummary) },
      rounds,
      duration_s: round1((performance.now() - startedAt) / 1000),
      /** One-minute load averages when sampling started and ended: the numbers are only comparable on a quiet machine. */
      load_average: { start: round1(loadAtStart), end: round1(loadavg()[0]!), cores: availableParallelism() },
    };
    writeBenchResult('webrtc-latency', result);

    console.log('');
    console.log('path                          samples    p50 ms    p95 ms    p99 ms    min    max');
    const line = (label: string, s: ReturnType<typeof summary>) =>
      console.log(`${label.padEnd(30)}${String(s.samples).padStart(7)}${fmt(s.p50).padStart(10)}${fmt(s.p95).padStart(10)}${fmt(s.p99).padStart(10)}${fmt(s.min).padStart(7)}${fmt(s.max).padStart(7)}`);
    line('sfu (Publisher → sfu → Viewer)', sfuSummary);
    line('p2p (direct, the floor)', p2pSummary);
    line('local (the method itself)', localSummary);
    console.log('');
    console.log(`goal: sfu p95 ≤ 80 ms: ${goals.sfu_p95_at_most_80_ms ? 'met' : 'NOT met'} (${fmt(sfuSummary.p95)} ms)`);
    console.log(`goal: sfu p95 within 20 ms of p2p p95: ${goals.sfu_p95_within_20_ms_of_p2p ? 'met' : 'NOT met'} (+${fmt(sfuSummary.p95 - p2pSummary.p95)} ms)`);
    console.log(`load average ${result.load_average.start} → ${result.load_average.end} on ${result.load_average.cores} cores; results in bench/results/webrtc-latency.json (${result.duration_s} s)`);
    if (sfuSummary.samples === 0 || p2pSummary.samples === 0) process.exitCode = 1;
  } catch (error) {
    console.error(error);
    if (sfu) console.error(`sfu log:\n${sfu.output().split('\n').slice(-30).join('\n')}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(hardStop);
  }
}
