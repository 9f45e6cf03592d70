import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, SfuStats, type SfuShowStats } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { InMemoryStreamKeyVerifier } from '../ingest/InMemoryStreamKeyVerifier.ts';
import { createConsoleLogger, LOG_LEVELS, type LogLevel } from '../logger.ts';
import { childProcessesNamed, isRunning } from '../testing/processes.ts';
import { startSfuProcess, type SfuProcess } from '../../../sfu/src/testing/sfuProcess.ts';
import { startSyntheticObs, type SyntheticObs } from '../testing/syntheticObs.ts';
import { waitFor } from '../testing/waitFor.ts';
import { TranscoderService } from '../TranscoderService.ts';

// RTMP into the real sfu (its own process), on the host: no browser, the sfu's /stats is the
// witness (producers receiving bytes, the ingest's source). The browser half is in
// rtmpToWebRtc.media.test.ts.

const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
const logLevel: LogLevel = LOG_LEVELS.find((level) => level === process.env['TRANSCODER_TEST_LOG']) ?? 'warn';
const tokenSecret = 'transcoder-sfu-forwarding-test-secret-0123456789';
const verifier = InMemoryStreamKeyVerifier.create();
let mediaDir: string;
let sfu: SfuProcess;
let service: TranscoderService;
const publishers: SyntheticObs[] = [];
/** A stand-in for the edge API's media-events route: what the transcoder reported, by show. */
let edgeApi: Server;
const reported: Array<{ path: string | undefined; authorization: string | undefined; body: unknown }> = [];

function grantShow(): { streamKey: string; showId: string } {
  const streamKey = `sk_${newId().replaceAll('-', '')}`;
  const showId = newId();
  verifier.grant(streamKey, { showId, sellerId: newId() });
  return { streamKey, showId };
}

async function showStats(showId: string): Promise<SfuShowStats | undefined> {
  const stats = SfuStats.parse(await (await fetch(`${sfu.httpUrl}/stats`)).json());
  return stats.shows.find((show) => show.show === showId);
}

/** The show's stats once both producers are receiving media (bytes growing past `after`). */
function receiving(showId: string, after: Partial<Record<'audio' | 'video', number>> = {}): Promise<SfuShowStats> {
  return waitFor(`show ${showId}'s producers to receive media`, async () => {
    const stats = await showStats(showId);
    const bytes = (kind: 'audio' | 'video') => stats?.producers.find((producer) => producer.kind === kind)?.byteCount ?? 0;
    return stats && bytes('video') > (after.video ?? 0) + 20_000 && bytes('audio') > (after.audio ?? 0) + 2_000 ? stats : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250 });
}

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'transcoder-sfu-'));
  edgeApi = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      reported.push({ path: request.url, authorization: request.headers.authorization, body: JSON.parse(body || 'null') });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => edgeApi.listen(0, '127.0.0.1', resolve));
  sfu = await startSfuProcess({ tokenSecret });
  const config = loadConfig({
    RTMP_PORT: '0',
    TRANSCODER_HTTP_PORT: '0',
    MEDIA_DIR: mediaDir,
    FFMPEG_PATH: ffmpegPath,
    SFU_URL: sfu.httpUrl,
    TOKEN_SECRET: tokenSecret,
    EDGE_API_URL: `http://127.0.0.1:${(edgeApi.address() as AddressInfo).port}`,
    PUBLISH_RESUME_GRACE_MS: '0',
  });
  service = await TranscoderService.create(config, {
    streamKeyVerifier: verifier,
    logger: createConsoleLogger(logLevel, 'transcoder-test'),
    pipeline: { restartInitialDelayMs: 200 },
    forwarding: { restartInitialDelayMs: 200 },
  });
});

afterAll(async () => {
  for (const publisher of publishers) publisher.kill();
  await service?.close();
  await sfu?.stop();
  edgeApi?.closeAllConnections();
  edgeApi?.close();
  if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
});

describe('RTMP into the sfu', () => {
  it('forwards a baseline publish with the video copied, and closes the ingest when the publish ends', async () => {
    const { streamKey, showId } = grantShow();
    const publisher = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 6, ffmpegPath });
    publishers.push(publisher);
    const stats = await receiving(showId);
    expect(stats.ingest?.source).toEqual({ protocol: 'rtmp', sourceProfileLevelId: '42e01e', videoReencoded: false });
    expect(stats.ingest?.profileLevelId).toBe('42e01e');
    expect(service.forwarders?.forwarderFor(showId)?.video).toMatchObject({ reencode: false });

    const forwarderPid = service.forwarders?.forwarderFor(showId)?.ffmpegPid;
    expect(forwarderPid).toBeTypeOf('number');
    await publisher.exited;
    // The publish ended: FFmpeg gone, the ingest closed at the sfu (the room may linger, empty).
    await waitFor('the ingest to close', async () => (await showStats(showId))?.ingest === undefined && service.forwarders?.forwarderFor(showId) === undefined);
    expect(isRunning(forwarderPid!)).toBe(false);

    // The edge API heard the show start and end (the show goes live, then ends).
    const events = reported.filter(
      (event) => event.path === `/v1/internal/shows/${showId}/media-events` && String((event.body as { type?: unknown }).type).startsWith('publish_'),
    );
    expect(events.map((event) => event.body)).toEqual([
      { type: 'publish_started', source: 'rtmp' },
      { type: 'publish_ended', source: 'rtmp' },
    ]);
    expect(events.every((event) => event.authorization === `Bearer ${tokenSecret}`)).toBe(true);
  });

  it('re-encodes a High-profile source, and says so in the sfu’s stats', async () => {
    const { streamKey, showId } = grantShow();
    const publisher = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 20, ffmpegPath, profile: 'high' });
    publishers.push(publisher);
    const stats = await receiving(showId);
    expect(stats.ingest?.profileLevelId).toBe('42e01f');
    expect(stats.ingest?.source).toMatchObject({ protocol: 'rtmp', sourceProfileLevelId: '64001e', videoReencoded: true });
    expect(stats.ingest?.source?.reason).toMatch(/High profile/);
    publisher.kill();
    await publisher.exited;
  });

  it('restarts a forwarding FFmpeg killed mid-show: a new ingest, and media flows again', async () => {
    const { streamKey, showId } = grantShow();
    const publisher = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 40, ffmpegPath });
    publishers.push(publisher);
    const before = await receiving(showId);
    const forwarder = service.forwarders!.forwarderFor(showId)!;
    const killedPid = forwarder.ffmpegPid!;
    const restarted = new Promise<{ pid: number; ingestId: string }>((resolve) => forwarder.once('forwarding', resolve));

    process.kill(killedPid, 'SIGKILL');
    const next = await restarted;
    expect(next.pid).not.toBe(killedPid);
    expect(next.ingestId).not.toBe(before.ingest?.ingestId);
    // The new ingest's producers receive media of their own (fresh byte counts).
    const after = await receiving(showId);
    expect(after.ingest?.ingestId).toBe(next.ingestId);
    expect(after.producers).toHaveLength(2);
    publisher.kill();
    await publisher.exited;
  });

  it('leaves no FFmpeg behind when the service closes mid-show, and closes the ingest', async () => {
    const { streamKey, showId } = grantShow();
    const publisher = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 40, ffmpegPath });
    publishers.push(publisher);
    await receiving(showId);
    await service.close();
    expect(childProcessesNamed('ffmpeg').filter((pid) => pid !== publisher.pid)).toEqual([]);
    expect(childProcessesNamed('ffprobe')).toEqual([]);
    expect((await showStats(showId))?.ingest).toBeUndefined();
    publisher.kill();
  });
});
