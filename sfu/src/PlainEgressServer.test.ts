import './testing/workerBin.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId, PLAIN_EGRESS_NOT_READY, plainEgressItemPath, plainEgressPath, plainEgressResumePath, PlainEgressResponse } from '@mytaek1/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Room } from './Room.ts';
import { startFfmpegOpusProducer, startFfmpegVp8Producer, startRtpSink, type FfmpegProducer, type RtpSink } from './testing/rtp.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { TEST_TOKEN_SECRET } from './testing/tokens.ts';

// The transcoder's side of plain-RTP egress, played by this test: UDP sockets where FFmpeg would
// listen, and a real FFmpeg reading the SDP the sfu answers.

let sfu: TestSfu;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  sfu = await startSfu();
});
afterAll(async () => {
  await sfu?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A show whose room has a VP8 and an Opus producer fed by FFmpeg. */
async function liveShow(): Promise<{ showId: string; room: Room; video: FfmpegProducer; audio: FfmpegProducer }> {
  const showId = newId();
  const room = await sfu.server.rooms.getOrCreate(showId);
  const release = room.retain();
  const video = await startFfmpegVp8Producer(room.originRouter, { seconds: 30 });
  const audio = await startFfmpegOpusProducer(room.originRouter, { seconds: 30 });
  room.addExternalProducer(video.producer, 'ffmpeg-video');
  room.addExternalProducer(audio.producer, 'ffmpeg-audio');
  cleanups.push(async () => {
    await video.stop();
    await audio.stop();
    video.transport.close();
    audio.transport.close();
    release();
  });
  return { showId, room, video, audio };
}

/** Two sinks standing for FFmpeg's RTP ports (RTCP goes to port + 1, which nobody reads here). */
async function sinks(): Promise<{ video: RtpSink; audio: RtpSink }> {
  const video = await startRtpSink();
  const audio = await startRtpSink();
  cleanups.push(() => {
    video.close();
    audio.close();
  });
  return { video, audio };
}

function call(method: string, path: string, body?: unknown, secret = TEST_TOKEN_SECRET): Promise<Response> {
  return fetch(`${sfu.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Ports the kernel says are free now (each far from the next, so port + 1 is free too, in practice). */
async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(Array.from({ length: count }, () => startRtpSink()));
  const ports = sockets.map((sink) => sink.port);
  for (const sink of sockets) sink.close();
  return ports;
}

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function openEgress(showId: string, ports: { video: number; audio: number }): Promise<PlainEgressResponse> {
  const response = await call('POST', plainEgressPath(showId), { ip: '127.0.0.1', video: { port: ports.video }, audio: { port: ports.audio } });
  expect(response.status, await response.clone().text()).toBe(201);
  return PlainEgressResponse.parse(await response.json());
}

describe('plain-RTP egress', () => {
  it('sends nothing until resumed, then the show’s video and audio with the SSRCs and payload types it announced', async () => {
    const { showId } = await liveShow();
    const ports = await sinks();
    const egress = await openEgress(showId, { video: ports.video.port, audio: ports.audio.port });
    expect(egress.showId).toBe(showId);
    expect(egress.video.mimeType).toBe('video/VP8');
    expect(egress.audio?.mimeType).toBe('audio/opus');
    const audioSsrc = egress.audio!.ssrc;
    expect(egress.sdp).toContain(`m=video ${ports.video.port} RTP/AVP ${egress.video.payloadType}`);
    expect(egress.sdp).toContain(`a=rtcp:${ports.video.port + 1}`);
    expect(egress.sdp).toContain(`a=rtpmap:${egress.audio!.payloadType} opus/48000/2`);
    expect(sfu.server.egress.egresses.get(egress.egressId)).toEqual(expect.objectContaining({ showId }));

    // Paused: FFmpeg may not be listening yet.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(ports.video.count(egress.video.ssrc) + ports.audio.count(audioSsrc)).toBe(0);

    expect((await call('POST', plainEgressResumePath(showId, egress.egressId))).status).toBe(204);
    const video = await ports.video.waitForPackets(egress.video.ssrc, 30, 10_000);
    const audio = await ports.audio.waitForPackets(audioSsrc, 20, 10_000);
    expect(new Set(video.map((header) => header.payloadType))).toEqual(new Set([egress.video.payloadType]));
    expect(new Set(audio.map((header) => header.payloadType))).toEqual(new Set([egress.audio!.payloadType]));

    expect((await call('DELETE', plainEgressItemPath(showId, egress.egressId))).status).toBe(204);
    expect(sfu.server.egress.egresses.size).toBe(0);
    expect((await call('DELETE', plainEgressItemPath(showId, egress.egressId))).status).toBe(404);
  });

  it('answers an SDP that FFmpeg’s RTP demuxer decodes', async () => {
    const { showId } = await liveShow();
    // Ports for FFmpeg: the kernel's picks, released just before FFmpeg binds them.
    const [videoPort = 0, audioPort = 0] = await freeUdpPorts(2);
    const egress = await openEgress(showId, { video: videoPort, audio: audioPort });
    const dir = await mkdtemp(join(tmpdir(), 'plain-egress-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'egress.sdp'), egress.sdp);
    const ffmpeg = spawn(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-i', join(dir, 'egress.sdp'), '-frames:v', '15', '-f', 'framemd5', '-'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => void ffmpeg.kill('SIGKILL'));
    let output = '';
    let errors = '';
    ffmpeg.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    ffmpeg.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    // FFmpeg binds its ports when it reads the SDP: give it that moment before the media flows.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await call('POST', plainEgressResumePath(showId, egress.egressId))).status).toBe(204);
    const [code] = (await once(ffmpeg, 'close')) as [number | null];
    expect(code, errors).toBe(0);
    // Decoded frames of both streams: stream 0 is video, 1 is audio.
    expect(output.match(/^0,/gm)?.length).toBe(15);
    expect(output).toMatch(/^1,/m);
  });

  it('ends by itself when the producer it consumes closes, and with the room', async () => {
    const first = await liveShow();
    const ports = await sinks();
    const egress = await openEgress(first.showId, { video: ports.video.port, audio: ports.audio.port });
    first.video.producer.close();
    // The consumer learns of its producer's end from the worker, a moment later.
    await waitUntil(() => !sfu.server.egress.egresses.has(egress.egressId));
    expect((await call('POST', plainEgressResumePath(first.showId, egress.egressId))).status).toBe(404);

    const second = await liveShow();
    const other = await openEgress(second.showId, { video: ports.video.port, audio: ports.audio.port });
    second.room.close('show_ended');
    expect(sfu.server.egress.egresses.has(other.egressId)).toBe(false);
  });

  it('sends the video alone for a show without audio (a seller on camera without a microphone)', async () => {
    const showId = newId();
    const room = await sfu.server.rooms.getOrCreate(showId);
    const release = room.retain();
    const video = await startFfmpegVp8Producer(room.originRouter, { seconds: 30 });
    room.addExternalProducer(video.producer, 'ffmpeg-video');
    cleanups.push(async () => {
      await video.stop();
      video.transport.close();
      release();
    });
    const ports = await sinks();
    const egress = await openEgress(showId, { video: ports.video.port, audio: ports.audio.port });
    expect(egress.audio).toBeUndefined();
    expect(egress.sdp).toContain(`m=video ${ports.video.port} RTP/AVP ${egress.video.payloadType}`);
    expect(egress.sdp).not.toContain('m=audio');
    let audioPackets = 0;
    ports.audio.socket.on('message', () => audioPackets++);
    expect((await call('POST', plainEgressResumePath(showId, egress.egressId))).status).toBe(204);
    await ports.video.waitForPackets(egress.video.ssrc, 30, 10_000);
    expect(audioPackets).toBe(0);
  });

  it('refuses strangers, bad requests, and shows without video, changing nothing', async () => {
    const { showId } = await liveShow();
    const body = { ip: '127.0.0.1', video: { port: 50_000 }, audio: { port: 50_002 } };
    expect((await call('POST', plainEgressPath(showId), body, 'not-the-secret-but-long-enough-to-look-real')).status).toBe(401);
    expect((await fetch(`${sfu.server.url}${plainEgressPath(showId)}`, { method: 'POST', body: JSON.stringify(body) })).status).toBe(401);
    expect((await call('POST', plainEgressPath('not-an-id'), body)).status).toBe(400);
    expect((await call('POST', plainEgressPath(showId), { ...body, ip: 'localhost' })).status).toBe(400);
    // RTCP takes port + 1: video on 50000 and audio on 50001 would collide.
    expect((await call('POST', plainEgressPath(showId), { ...body, audio: { port: 50_001 } })).status).toBe(400);
    expect((await call('GET', plainEgressPath(showId))).status).toBe(405);

    const silent = newId();
    const room = await sfu.server.rooms.getOrCreate(silent);
    const release = room.retain();
    cleanups.push(release);
    const audioOnly = await startFfmpegOpusProducer(room.originRouter, { seconds: 10 });
    cleanups.push(async () => {
      await audioOnly.stop();
      audioOnly.transport.close();
    });
    room.addExternalProducer(audioOnly.producer, 'ffmpeg-audio');
    for (const show of [silent, newId()]) {
      const refused = await call('POST', plainEgressPath(show), body);
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({ detail: PLAIN_EGRESS_NOT_READY });
    }
    expect(sfu.server.egress.egresses.size).toBe(0);
  });
});
