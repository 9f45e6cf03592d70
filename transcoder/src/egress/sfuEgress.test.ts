import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, PlainIngestResponse, plainIngestPath, sfuMediaNoticePath, ShowMediaEvent, showMediaEventsPath, type SfuMediaNotice } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { ShowMediaEventsClient } from '../edge/ShowMediaEventsClient.ts';
import { parseMediaPlaylist } from '../hls/MediaPlaylist.ts';
import { createConsoleLogger, LOG_LEVELS, type LogLevel } from '../logger.ts';
import { mapUris, mediaPlaylistViolations, segmentUris } from '../testing/hlsSpec.ts';
import { childProcessesNamed } from '../testing/processes.ts';
import { startSfuProcess, type SfuProcess } from '../../../sfu/src/testing/sfuProcess.ts';
import { waitFor } from '../testing/waitFor.ts';
import { TranscoderService } from '../TranscoderService.ts';

// A show's media in the real sfu (put there through plain ingest, as an OBS show's would be; a
// browser's gets there over WebRTC, see web's media tests), its egress re-encoded into LL-HLS by
// the transcoder, and the replay reported to a stand-in edge API that records what it is told.

const ffmpegPath = process.env['FFMPEG_PATH'] ?? 'ffmpeg';
const logLevel: LogLevel = LOG_LEVELS.find((level) => level === process.env['TRANSCODER_TEST_LOG']) ?? 'warn';
const tokenSecret = randomBytes(32).toString('hex');
let sfu: SfuProcess;
let service: TranscoderService;
let mediaDir: string;
let edgeApi: Server;
const reported: { path: string; event: ShowMediaEvent }[] = [];
const encoders = new Set<ChildProcess>();

beforeAll(async () => {
  edgeApi = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (request.headers.authorization !== `Bearer ${tokenSecret}`) return void response.writeHead(401).end();
      reported.push({ path: request.url ?? '', event: ShowMediaEvent.parse(JSON.parse(body)) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => edgeApi.listen(0, '127.0.0.1', resolve));
  const edgeApiUrl = `http://127.0.0.1:${(edgeApi.address() as AddressInfo).port}`;
  sfu = await startSfuProcess({ tokenSecret });
  mediaDir = await mkdtemp(join(tmpdir(), 'transcoder-egress-'));
  const config = loadConfig({
    RTMP_PORT: '0',
    TRANSCODER_HTTP_PORT: '0',
    MEDIA_DIR: mediaDir,
    FFMPEG_PATH: ffmpegPath,
    TOKEN_SECRET: tokenSecret,
    EDGE_API_URL: edgeApiUrl,
    SFU_HLS_SIZE: '320x180',
    SFU_HLS_VIDEO_KBPS: '400',
  });
  service = await TranscoderService.create(config, {
    logger: createConsoleLogger(logLevel, 'egress-test'),
    showMediaEvents: ShowMediaEventsClient.create({ edgeApiUrl, tokenSecret }),
    pipeline: { restartInitialDelayMs: 300 },
  });
});

afterAll(async () => {
  for (const encoder of encoders) encoder.kill('SIGKILL');
  await service?.close();
  await sfu?.stop();
  edgeApi?.close();
  if (mediaDir) await rm(mediaDir, { recursive: true, force: true });
});

/** Media into the sfu's room for the show, as FFmpeg would forward an OBS show: H.264 and Opus over plain RTP. */
async function mediaInSfu(showId: string, seconds: number): Promise<ChildProcess> {
  const video = { payloadType: 102, ssrc: 0x1111_0000 + Math.floor(Math.random() * 0xffff), profileLevelId: '42e01f' };
  const audio = { payloadType: 111, ssrc: 0x2222_0000 + Math.floor(Math.random() * 0xffff) };
  const response = await fetch(`${sfu.httpUrl}${plainIngestPath(showId)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenSecret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ video, audio }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const ingest = PlainIngestResponse.parse(await response.json());
  const to = (endpoint: PlainIngestResponse['video']) => `rtp://${endpoint.ip}:${endpoint.port}?rtcpport=${endpoint.rtcpPort}&pkt_size=1200`;
  const encoder = spawn(
    ffmpegPath,
    [
      '-nostdin', '-hide_banner', '-loglevel', 'error',
      '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds),
      '-map', '0:v', '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-bsf:v', 'h264_mp4toannexb',
      '-f', 'rtp', '-ssrc', String(video.ssrc), '-payload_type', String(video.payloadType), to(ingest.video),
      '-map', '1:a', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '64k',
      '-f', 'rtp', '-ssrc', String(audio.ssrc), '-payload_type', String(audio.payloadType), to(ingest.audio),
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  encoders.add(encoder);
  return encoder;
}

/** Where each track of an fMP4 segment (init section first) starts, in seconds, as ffprobe reads it. */
async function streamStarts(media: Buffer): Promise<{ video?: number; audio?: number }> {
  const probe = spawn('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,start_time', '-of', 'csv=p=0', '-f', 'mp4', 'pipe:0'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let output = '';
  probe.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  probe.stdin.on('error', () => undefined);
  probe.stdin.end(media);
  await once(probe, 'close');
  return Object.fromEntries(output.trim().split('\n').map((line) => line.split(',')).map(([type = '', start = '']) => [type, Number(start)]));
}

function notify(showId: string, notice: SfuMediaNotice, secret = tokenSecret): Promise<Response> {
  return fetch(`${service.http.url}${sfuMediaNoticePath(showId)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(notice),
  });
}

async function served(path: string, minSegments: number): Promise<string> {
  return waitFor(`${path} with ${minSegments}+ segments`, async () => {
    const response = await fetch(`${service.http.url}${path}`);
    if (response.status !== 200) return undefined;
    const text = await response.text();
    return segmentUris(text).length >= minSegments ? text : undefined;
  }, { timeoutMs: 30_000 });
}

describe('HLS and replays of a show in the sfu, from its plain-RTP egress', () => {
  it('refuses notices without the shared secret or with a bad body, starting nothing', async () => {
    const showId = newId();
    expect((await notify(showId, { state: 'live', sfuUrl: sfu.httpUrl }, 'x'.repeat(64))).status).toBe(401);
    const bad = await fetch(`${service.http.url}${sfuMediaNoticePath(showId)}`, { method: 'POST', headers: { authorization: `Bearer ${tokenSecret}` }, body: '{"state":"maybe"}' });
    expect(bad.status).toBe(400);
    expect((await notify('not-a-show', { state: 'live', sfuUrl: sfu.httpUrl })).status).toBe(400);
    expect(service.pipelines.liveShowIds).toEqual([]);
  });

  it('writes 0.53 s fMP4 segments that follow the specification, restarts a killed FFmpeg, and on `ended` finalises and reports the replay', async () => {
    const showId = newId();
    const encoder = await mediaInSfu(showId, 40);
    const started = new Map<number, number>();
    service.pipelines.on('ffmpegStarted', (event) => {
      if (event.showId === showId) started.set(event.run, event.pid);
    });
    expect((await notify(showId, { state: 'live', sfuUrl: sfu.httpUrl })).status).toBe(202);
    // A repeat changes nothing.
    expect((await notify(showId, { state: 'live', sfuUrl: sfu.httpUrl })).status).toBe(202);

    const livePath = `/live/${showId}/index.m3u8`;
    const live = await served(livePath, 4);
    expect(mediaPlaylistViolations(live)).toEqual([]);
    expect(live).toMatch(/^#EXT-X-TARGETDURATION:1$/m);
    const durations = parseMediaPlaylist(live).segments.map((segment) => segment.duration);
    for (const duration of durations) expect(duration).toBeCloseTo(16 / 30, 2);
    const [init] = mapUris(live);
    const initBytes = Buffer.from(await (await fetch(`${service.http.url}/live/${showId}/${init}`)).arrayBuffer());
    // Both tracks made it: H.264 video and AAC audio.
    expect(initBytes.includes('avc1')).toBe(true);
    expect(initBytes.includes('mp4a')).toBe(true);
    // ...and side by side: a segment's audio covers the same time as its video (a player cannot
    // play video past its audio, so audio running behind would be latency).
    const newest = segmentUris(live).at(-1);
    const segmentBytes = Buffer.from(await (await fetch(`${service.http.url}/live/${showId}/${newest}`)).arrayBuffer());
    const starts = await streamStarts(Buffer.concat([initBytes, segmentBytes]));
    expect(Math.abs((starts.video ?? NaN) - (starts.audio ?? NaN))).toBeLessThan(0.1);

    // An FFmpeg that dies is replaced, with a fresh egress, and the live sequence goes on. Killed
    // once its recording has a segment, so that the replay must join two recorded parts.
    const firstPid = await waitFor('FFmpeg run 0', () => started.get(0));
    await served(`/replays/${showId}/part-000/index.m3u8`, 1);
    const beforeKill = parseMediaPlaylist(await served(livePath, 4));
    const lastBefore = beforeKill.mediaSequence + beforeKill.segments.length - 1;
    process.kill(firstPid, 'SIGKILL');
    await waitFor('FFmpeg run 1', () => started.get(1), { timeoutMs: 20_000 });
    await waitFor('the live playlist to grow past the kill', async () => {
      const text = await (await fetch(`${service.http.url}${livePath}`)).text();
      const playlist = parseMediaPlaylist(text);
      return playlist.mediaSequence + playlist.segments.length - 1 >= lastBefore + 3 ? text : undefined;
    }, { timeoutMs: 30_000 });

    expect((await notify(showId, { state: 'ended', sfuUrl: sfu.httpUrl })).status).toBe(202);
    const report = await waitFor('recording_ready at the edge API', () => reported.find((r) => r.path === showMediaEventsPath(showId) && r.event.type === 'recording_ready'), { timeoutMs: 30_000 });
    const event = report.event;
    if (event.type !== 'recording_ready') throw new Error('unreachable');
    expect(event.playlistUrl).toBe(`${service.http.url}/replays/${showId}/index.m3u8`);
    expect(event.durationSeconds).toBeGreaterThan(2);
    const replay = await (await fetch(event.playlistUrl)).text();
    expect(mediaPlaylistViolations(replay)).toEqual([]);
    expect(replay).toMatch(/^#EXT-X-PLAYLIST-TYPE:VOD$/m);
    expect(mapUris(replay)).toEqual(['part-000/init.mp4', 'part-001/init.mp4']);
    for (const uri of segmentUris(replay)) expect((await fetch(`${service.http.url}/replays/${showId}/${uri}`)).status).toBe(200);
    const ended = await (await fetch(`${service.http.url}${livePath}`)).text();
    expect(ended.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    encoder.kill('SIGKILL');
    await once(encoder, 'exit');
    expect(childProcessesNamed('ffmpeg')).toEqual([]);
  });
});
