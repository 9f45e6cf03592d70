import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import type { FfmpegExit } from './hls/FfmpegProcess.ts';
import type { ReplaySummary } from './hls/HlsPipeline.ts';
import { parseMediaPlaylist } from './hls/MediaPlaylist.ts';
import { InMemoryStreamKeyVerifier } from './ingest/InMemoryStreamKeyVerifier.ts';
import type { RefusedPublish } from './ingest/RtmpIngest.ts';
import { createConsoleLogger, LOG_LEVELS, type LogLevel } from './logger.ts';
import { mapUris, mediaPlaylistViolations, segmentUris } from './testing/hlsSpec.ts';
import { childProcessesNamed, isRunning } from './testing/processes.ts';
import { startSyntheticObs } from './testing/syntheticObs.ts';
import { waitFor } from './testing/waitFor.ts';
import { TranscoderService } from './TranscoderService.ts';

// End to end on loopback: a synthetic OBS publishes over RTMP, FFmpeg writes HLS, and the HTTP
// server serves it. node-media-server keeps process-wide state, so these run one after another in
// one service; other suites run in their own processes on their own random ports.

const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
const logLevel: LogLevel = LOG_LEVELS.find((level) => level === process.env['TRANSCODER_TEST_LOG']) ?? 'warn';
const logger = createConsoleLogger(logLevel, 'transcoder-test');
const verifier = InMemoryStreamKeyVerifier.create();
const timings: Record<string, number> = {};
let mediaDir: string;
let service: TranscoderService;

function grantShow(): { streamKey: string; showId: string } {
  const streamKey = `sk_${newId().replaceAll('-', '')}`;
  const showId = newId();
  verifier.grant(streamKey, { showId, sellerId: newId() });
  return { streamKey, showId };
}

async function startService(): Promise<TranscoderService> {
  const config = loadConfig({
    RTMP_PORT: '0',
    TRANSCODER_HTTP_PORT: '0',
    MEDIA_DIR: mediaDir,
    FFMPEG_PATH: ffmpegPath,
    // A stopped publisher ends the show at once (the resume window is a product setting, not under test).
    PUBLISH_RESUME_GRACE_MS: '0',
  });
  return TranscoderService.create(config, { streamKeyVerifier: verifier, logger, pipeline: { restartInitialDelayMs: 200 } });
}

async function get(path: string): Promise<Response> {
  return fetch(`${service.http.url}${path}`);
}

/** The playlist's text once it is served and lists at least `minSegments` segments. */
async function servedPlaylist(path: string, minSegments: number, { timeoutMs = 20_000 } = {}): Promise<{ response: Response; text: string }> {
  return waitFor(`${path} with ${minSegments}+ segments`, async () => {
    const response = await get(path);
    if (response.status !== 200) return undefined;
    const text = await response.text();
    return segmentUris(text).length >= minSegments ? { response, text } : undefined;
  }, { timeoutMs });
}

/** Fetches every segment (and init section) a playlist lists, relative to the playlist's path. */
async function fetchListedMedia(playlistPath: string, text: string): Promise<Response[]> {
  const base = playlistPath.slice(0, playlistPath.lastIndexOf('/') + 1);
  return Promise.all([...mapUris(text), ...segmentUris(text)].map((uri) => get(`${base}${uri}`)));
}

/** Tries to watch an RTMP stream as any player would; reports whether a frame came through. */
async function playRtmp(url: string): Promise<{ code: number | null; framesDecoded: boolean }> {
  const player = spawn(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-rw_timeout', '5000000', '-i', url, '-t', '1', '-f', 'framemd5', '-'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  player.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code] = (await once(player, 'close')) as [number | null];
  return { code, framesDecoded: /^\d+,/m.test(output) };
}

function lastSequence(text: string): number {
  const playlist = parseMediaPlaylist(text);
  return playlist.mediaSequence + playlist.segments.length - 1;
}

/** Pids of started FFmpeg runs, and how runs ended that were not stopped, by `<showId>#<run>`. */
const startedRuns = new Map<string, number>();
const unexpectedExits = new Map<string, FfmpegExit>();
function runStarted(showId: string, run: number): number | undefined {
  return startedRuns.get(`${showId}#${run}`);
}

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'transcoder-e2e-'));
  service = await startService();
  service.pipelines.on('ffmpegStarted', (event) => startedRuns.set(`${event.showId}#${event.run}`, event.pid));
  service.pipelines.on('ffmpegExited', (event) => {
    if (!event.expected) unexpectedExits.set(`${event.showId}#${event.run}`, event.exit);
  });
});

afterAll(async () => {
  await service?.close();
  if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
  console.info(`transcoder e2e timings (ms): ${JSON.stringify(timings)}`);
});

describe('transcoder end to end', () => {
  it('turns a verified publish into live HLS over HTTP, and finalises the replay when the publisher stops', async () => {
    const { streamKey, showId } = grantShow();
    const started = Date.now();
    const obs = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 6, ffmpegPath });

    const livePath = `/live/${showId}/index.m3u8`;
    const live = await servedPlaylist(livePath, 2);
    timings['publishToLivePlaylistWith2Segments'] = Date.now() - started;
    expect(live.response.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(live.response.headers.get('cache-control')).toBe('no-cache');
    expect(live.response.headers.get('access-control-allow-origin')).toBe('*');
    expect(mediaPlaylistViolations(live.text)).toEqual([]);
    expect(live.text).toMatch(/^#EXT-X-TARGETDURATION:1$/m);
    expect(mapUris(live.text)).toEqual(['init.mp4']);

    const [init, ...segments] = await fetchListedMedia(livePath, live.text);
    expect(init?.status).toBe(200);
    expect(init?.headers.get('content-type')).toBe('video/mp4');
    const initBytes = Buffer.from(await init!.arrayBuffer());
    expect(initBytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(segments.length).toBeGreaterThanOrEqual(2);
    for (const segment of segments) {
      expect(segment.status).toBe(200);
      expect(segment.headers.get('content-type')).toBe('video/iso.segment');
      expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const bytes = Buffer.from(await segment.arrayBuffer());
      expect(bytes.includes('moof')).toBe(true);
      expect(bytes.includes('mdat')).toBe(true);
    }

    // The stream key is not a way to watch: RTMP playback is reserved to the pipelines.
    const outsider = await playRtmp(`${service.ingest.publishUrl}/${streamKey}`);
    expect(outsider.code).not.toBe(0);
    expect(outsider.framesDecoded).toBe(false);

    const published = await obs.exited;
    expect(published.code, published.stderr).toBe(0);
    const publisherStopped = Date.now();
    const replayPath = `/replays/${showId}/index.m3u8`;
    const replay = await waitFor('the finalised replay playlist', async () => {
      const response = await get(replayPath);
      return response.status === 200 ? { response, text: await response.text() } : undefined;
    });
    timings['publisherExitToReplayPlaylist'] = Date.now() - publisherStopped;
    expect(replay.response.headers.get('cache-control')).toBe('public, max-age=10');
    expect(mediaPlaylistViolations(replay.text)).toEqual([]);
    expect(replay.text).toMatch(/^#EXT-X-PLAYLIST-TYPE:VOD$/m);
    expect(replay.text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    const replayMedia = await fetchListedMedia(replayPath, replay.text);
    expect(replayMedia.map((response) => response.status).every((status) => status === 200)).toBe(true);
    // 6 s published; the pull joins at the next keyframe, so about a second is not recorded.
    const recorded = parseMediaPlaylist(replay.text).segments.reduce((sum, segment) => sum + segment.duration, 0);
    expect(recorded).toBeGreaterThan(3.5);
    expect(recorded).toBeLessThanOrEqual(6.5);

    // FFmpeg ended its own recording (the ingest gave it end-of-stream; it was not killed).
    expect(await (await get(`/replays/${showId}/part-000/index.m3u8`)).text()).toMatch(/#EXT-X-ENDLIST\s*$/);
    // The live playlist is closed too, so players stop polling it.
    const ended = await (await get(livePath)).text();
    expect(ended.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    await waitFor('no FFmpeg child left', () => childProcessesNamed('ffmpeg').length === 0);
  });

  it('refuses a publish whose stream key the verifier does not know, before any media is consumed', async () => {
    const before = { live: await readdir(join(mediaDir, 'live')), replays: await readdir(join(mediaDir, 'replays')) };
    const refused = once(service.ingest, 'publishRefused');
    const started = Date.now();
    const obs = startSyntheticObs(`${service.ingest.publishUrl}/sk_not_a_key`, { seconds: 10, ffmpegPath });

    const [refusal] = (await refused) as [RefusedPublish];
    expect(refusal.reason).toBe('unknown_stream_key');
    expect(verifier.asked).toContain('sk_not_a_key');
    const published = await obs.exited;
    timings['refusedPublishToPublisherExit'] = Date.now() - started;
    expect(published.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect({ live: await readdir(join(mediaDir, 'live')), replays: await readdir(join(mediaDir, 'replays')) }).toEqual(before);
    expect(service.pipelines.liveShowIds).toEqual([]);
    expect(childProcessesNamed('ffmpeg')).toEqual([]);
  });

  it('restarts an HLS FFmpeg killed mid-show, and the live playlist keeps growing from where it was', async () => {
    const { streamKey, showId } = grantShow();
    const firstRun = waitFor('FFmpeg run 0', () => runStarted(showId, 0));
    const obs = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 16, ffmpegPath });
    const firstPid = await firstRun;

    const livePath = `/live/${showId}/index.m3u8`;
    // Killed once its recording has a segment, so the replay must join two recorded parts.
    await servedPlaylist(`/replays/${showId}/part-000/index.m3u8`, 1);
    const beforeKill = await servedPlaylist(livePath, 3);
    const lastBeforeKill = lastSequence(beforeKill.text);
    const secondRun = waitFor('FFmpeg run 1', () => runStarted(showId, 1));
    const killedAt = Date.now();
    process.kill(firstPid, 'SIGKILL');

    const killed = await waitFor('the unexpected exit', () => unexpectedExits.get(`${showId}#0`));
    expect(killed.signal).toBe('SIGKILL');
    const secondPid = await secondRun;
    timings['killToRestartedFfmpeg'] = Date.now() - killedAt;
    expect(secondPid).not.toBe(firstPid);
    expect(isRunning(firstPid)).toBe(false);
    const grown = await waitFor('the live playlist to grow past the kill', async () => {
      const text = await (await get(livePath)).text();
      return lastSequence(text) >= lastBeforeKill + 3 ? text : undefined;
    });
    timings['killToPlaylistGrownBy3'] = Date.now() - killedAt;
    expect(mediaPlaylistViolations(grown)).toEqual([]);
    // The media sequence continues rather than starting again at 0.
    expect(parseMediaPlaylist(grown).mediaSequence).toBeGreaterThan(lastBeforeKill);
    const media = await fetchListedMedia(livePath, grown);
    expect(media.map((response) => response.status).every((status) => status === 200)).toBe(true);

    const liveEnded = once(service.pipelines, 'liveEnded');
    await obs.exited;
    const [{ replay }] = (await liveEnded) as [{ replay: ReplaySummary | null }];
    expect(replay?.partCount).toBe(2);
    const text = await (await get(`/replays/${showId}/index.m3u8`)).text();
    expect(mediaPlaylistViolations(text)).toEqual([]);
    expect(text.match(/#EXT-X-DISCONTINUITY/g)).toHaveLength(1);
    expect(mapUris(text)).toEqual(['part-000/init.mp4', 'part-001/init.mp4']);
    expect(childProcessesNamed('ffmpeg')).toEqual([]);
  });

  it('on close mid-show finishes the replay and leaves no FFmpeg behind', async () => {
    const { streamKey, showId } = grantShow();
    const firstRun = waitFor('FFmpeg run 0', () => runStarted(showId, 0));
    const obs = startSyntheticObs(`${service.ingest.publishUrl}/${streamKey}`, { seconds: 30, ffmpegPath });
    const pid = await firstRun;
    await servedPlaylist(`/live/${showId}/index.m3u8`, 2);

    const closing = Date.now();
    await service.close();
    timings['closeMidShow'] = Date.now() - closing;
    expect(isRunning(pid)).toBe(false);
    // FFmpeg finished its files itself (not killed): its own recording playlist is ended.
    expect(unexpectedExits.has(`${showId}#0`)).toBe(false);
    expect(await readFile(join(mediaDir, 'replays', showId, 'part-000', 'index.m3u8'), 'utf8')).toMatch(/#EXT-X-ENDLIST\s*$/);
    await obs.exited;
    expect(childProcessesNamed('ffmpeg')).toEqual([]);

    // Restarted on the same media directory: the replay written on close is served.
    service = await startService();
    const replay = await (await get(`/replays/${showId}/index.m3u8`)).text();
    expect(mediaPlaylistViolations(replay)).toEqual([]);
    expect(replay.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });
});

