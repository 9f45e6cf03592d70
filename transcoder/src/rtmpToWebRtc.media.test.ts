/**
 * OBS to shoppers, in Chromium, inside a private network namespace (WebRTC over 127.0.0.1): a
 * synthetic OBS publishes x264 + AAC over RTMP with a valid stream key, the transcoder forwards it
 * into the real sfu (its own process), and the web app's own player (web/src/lib/media/Viewer.ts)
 * decodes it. Run with
 * `MYTAEK1_MEDIA_TESTS=1 sh scripts/netns-run.sh node node_modules/vitest/vitest.mjs run --project transcoder-media`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueToken, newId, SfuStats } from '@mytaek1/contracts';
import { launchChromium } from '@mytaek1/test-support';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { InMemoryStreamKeyVerifier } from './ingest/InMemoryStreamKeyVerifier.ts';
import type { RefusedPublish } from './ingest/RtmpIngest.ts';
import { createConsoleLogger, LOG_LEVELS, type LogLevel } from './logger.ts';
import { startSfuProcess, type SfuProcess } from '../../sfu/src/testing/sfuProcess.ts';
import { startSyntheticObs, type SyntheticObs } from './testing/syntheticObs.ts';
import { startViewerPage, type PlayerStats } from './testing/viewerPage.ts';
import { waitFor } from './testing/waitFor.ts';
import { TranscoderService } from './TranscoderService.ts';

const mediaRun = process.env['MYTAEK1_MEDIA_TESTS'] === '1';
const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
const logLevel: LogLevel = LOG_LEVELS.find((level) => level === process.env['TRANSCODER_TEST_LOG']) ?? 'warn';
const FRAMES_WANTED = 30;

describe.runIf(mediaRun)('an OBS show over RTMP, watched in Chromium over WebRTC', () => {
  const tokenSecret = 'rtmp-to-webrtc-media-test-secret-0123456789';
  const verifier = InMemoryStreamKeyVerifier.create();
  let mediaDir: string | undefined;
  let sfu: SfuProcess | undefined;
  let service: TranscoderService | undefined;
  let pageServer: Awaited<ReturnType<typeof startViewerPage>> | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const publishers: SyntheticObs[] = [];
  const consoleLines: string[] = [];

  beforeAll(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'transcoder-media-'));
    sfu = await startSfuProcess({ tokenSecret });
    service = await TranscoderService.create(
      loadConfig({
        RTMP_PORT: '0',
        TRANSCODER_HTTP_PORT: '0',
        MEDIA_DIR: mediaDir,
        FFMPEG_PATH: ffmpegPath,
        SFU_URL: sfu.httpUrl,
        TOKEN_SECRET: tokenSecret,
        EDGE_API_URL: 'http://127.0.0.1:9',
        PUBLISH_RESUME_GRACE_MS: '0',
      }),
      { streamKeyVerifier: verifier, logger: createConsoleLogger(logLevel, 'transcoder-media'), forwarding: { restartInitialDelayMs: 200 } },
    );
    pageServer = await startViewerPage();
    browser = await launchChromium({ loopbackWebRtc: true });
  });

  afterEach(async (context) => {
    for (const publisher of publishers.splice(0)) publisher.kill();
    if (context.task.result?.state === 'fail') {
      console.error(`browser console (last lines):\n${consoleLines.slice(-40).join('\n')}\n\nsfu log (last lines):\n${sfu?.process.output().split('\n').slice(-30).join('\n')}`);
    }
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await pageServer?.close();
    await service?.close();
    await sfu?.stop();
    if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
  });

  function publish(profile: 'baseline' | 'high' = 'baseline'): { showId: string; publisher: SyntheticObs } {
    const streamKey = `sk_${newId().replaceAll('-', '')}`;
    const showId = newId();
    verifier.grant(streamKey, { showId, sellerId: newId() });
    const publisher = startSyntheticObs(`${service!.ingest.publishUrl}/${streamKey}`, { seconds: 60, ffmpegPath, profile });
    publishers.push(publisher);
    return { showId, publisher };
  }

  /** A shopper's page playing the show with the web app's player. */
  async function watch(showId: string): Promise<Page> {
    const context = await browser!.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
    await page.exposeFunction('mintGrant', async () => ({
      token: await issueToken({ aud: 'sfu', sub: `shopper-${newId()}`, show: showId, role: 'viewer' }, tokenSecret, { ttlSeconds: 300 }),
      role: 'viewer',
    }));
    await page.goto(pageServer!.url);
    await page.waitForFunction(() => 'player' in globalThis);
    await page.evaluate(([url, id]) => (globalThis as unknown as { player: { watch(u: string, s: string): void } }).player.watch(url, id), [sfu!.httpUrl, showId] as const);
    return page;
  }

  const statsOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { player: { stats(): Promise<PlayerStats> } }).player.stats());

  /** Waits until the player has presented and decoded `more` frames past `after`. */
  function framesPast(page: Page, after: PlayerStats | undefined, more = FRAMES_WANTED): Promise<PlayerStats> {
    return waitFor(`${more} more decoded frames`, async () => {
      const stats = await statsOf(page);
      const presented = stats.presented - (after?.presented ?? 0);
      const decoded = stats.decoded - (after?.decoded ?? 0);
      return presented >= more && decoded >= more ? stats : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
  }

  async function ingestOf(showId: string) {
    const stats = SfuStats.parse(await (await fetch(`${sfu!.httpUrl}/stats`)).json());
    return stats.shows.find((show) => show.show === showId)?.ingest;
  }

  it('plays a baseline x264 + AAC publish: H.264 copied, frames decoded', async () => {
    const { showId } = publish('baseline');
    const page = await watch(showId);
    const stats = await framesPast(page, undefined);
    expect(stats.state).toBe('live');
    expect(stats.videoCodec).toBe('video/H264');
    expect([stats.width, stats.height]).toEqual([640, 360]);
    expect((await ingestOf(showId))?.source).toMatchObject({ protocol: 'rtmp', videoReencoded: false });
  });

  it('re-encodes a High-profile publish for the browser, says so in the sfu’s stats, and it plays', async () => {
    const { showId } = publish('high');
    const page = await watch(showId);
    await framesPast(page, undefined);
    const ingest = await ingestOf(showId);
    expect(ingest?.source).toMatchObject({ videoReencoded: true, sourceProfileLevelId: expect.stringMatching(/^64/) });
    expect(ingest?.source?.reason).toMatch(/High profile/);
  });

  it('keeps playing after the forwarding FFmpeg is killed mid-show', async () => {
    const { showId } = publish('baseline');
    const page = await watch(showId);
    await framesPast(page, undefined);
    const forwarder = service!.forwarders!.forwarderFor(showId)!;
    const killed = forwarder.ffmpegPid!;
    const restarted = new Promise<{ pid: number }>((resolve) => forwarder.once('forwarding', resolve));
    process.kill(killed, 'SIGKILL');
    expect((await restarted).pid).not.toBe(killed);
    // Frames presented after the restart: the player took the new producers by itself.
    const afterRestart = await statsOf(page);
    const later = await framesPast(page, afterRestart);
    expect(later.state).toBe('live');
  });

  it('refuses a stream key it does not know: nothing reaches the sfu', async () => {
    const refused = new Promise<RefusedPublish>((resolve) => service!.ingest.once('publishRefused', resolve));
    const forwarding = new Set(service!.forwarders!.showIds);
    const before = SfuStats.parse(await (await fetch(`${sfu!.httpUrl}/stats`)).json()).shows.filter((show) => show.ingest).length;
    const publisher = startSyntheticObs(`${service!.ingest.publishUrl}/sk_not_a_key`, { seconds: 10, ffmpegPath });
    publishers.push(publisher);
    expect((await refused).reason).toMatch(/unknown/);
    const exit = await publisher.exited;
    expect(exit.code).not.toBe(0);
    const after = SfuStats.parse(await (await fetch(`${sfu!.httpUrl}/stats`)).json()).shows.filter((show) => show.ingest).length;
    expect(after).toBeLessThanOrEqual(before);
    expect(service!.forwarders!.showIds.filter((id) => !forwarding.has(id))).toEqual([]);
  });
});
