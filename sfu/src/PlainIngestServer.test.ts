import './testing/workerBin.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { newId, PlainIngestResponse, plainIngestItemPath, plainIngestPath, SfuStats, type PlainIngestRequest } from '@mytaek1/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLAIN_INGEST_OWNER } from './PlainIngestServer.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { SignalingTestClient } from './testing/SignalingTestClient.ts';
import { TEST_TOKEN_SECRET, tokenFor } from './testing/tokens.ts';

/**
 * The sfu's half of RTMP ingest: the transcoder asks for a show's ingest over HTTP (bearer: the
 * shared secret), FFmpeg sends RTP to the ports it is given, and the show's viewers see the two
 * producers as they see a browser publisher's.
 */

const FFMPEG = '/usr/bin/ffmpeg';
const VIDEO = { payloadType: 102, ssrc: 1111, profileLevelId: '42c01f' };
const AUDIO = { payloadType: 111, ssrc: 2222 };
const REQUEST: PlainIngestRequest = { video: VIDEO, audio: AUDIO, source: { protocol: 'rtmp', sourceProfileLevelId: '640028', videoReencoded: true, reason: 'High profile' } };

describe('plain RTP ingest', () => {
  let sfu: TestSfu;
  const clients: SignalingTestClient[] = [];
  const encoders = new Set<ChildProcess>();

  const openTransports = (): number => sfu.pool.loads().reduce((sum, load) => sum + load.transports, 0);
  /** `authorization: null` sends none. */
  const post = (show: string, body: unknown, authorization: string | null = `Bearer ${TEST_TOKEN_SECRET}`) =>
    fetch(`${sfu.server.url}${plainIngestPath(show)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const remove = (show: string, ingestId: string, authorization = `Bearer ${TEST_TOKEN_SECRET}`) =>
    fetch(`${sfu.server.url}${plainIngestItemPath(show, ingestId)}`, { method: 'DELETE', headers: { authorization } });
  const stats = async () => SfuStats.parse(await (await fetch(`${sfu.server.url}/stats`)).json());

  async function join(show: string): Promise<SignalingTestClient> {
    const client = await SignalingTestClient.connect(sfu.wsUrl(show, await tokenFor(show, 'viewer')));
    clients.push(client);
    await client.request('getRouterRtpCapabilities', {});
    return client;
  }

  /** What the transcoder's FFmpeg does: H.264 baseline and Opus as RTP to the ingest's ports, RTCP to their RTCP ports. */
  function sendRtp(ingest: PlainIngestResponse): ChildProcess {
    const to = (endpoint: PlainIngestResponse['video']) => `rtp://${endpoint.ip}:${endpoint.port}?rtcpport=${endpoint.rtcpPort}&pkt_size=1200`;
    const ffmpeg = spawn(
      FFMPEG,
      [
        '-nostdin', '-hide_banner', '-loglevel', 'error',
        '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '20',
        '-map', '0:v', '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '15', '-bsf:v', 'h264_mp4toannexb',
        '-f', 'rtp', '-ssrc', String(VIDEO.ssrc), '-payload_type', String(VIDEO.payloadType), to(ingest.video),
        '-map', '1:a', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '64k',
        '-f', 'rtp', '-ssrc', String(AUDIO.ssrc), '-payload_type', String(AUDIO.payloadType), to(ingest.audio),
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    encoders.add(ffmpeg);
    return ffmpeg;
  }

  beforeAll(async () => {
    sfu = await startSfu({ emptyRoomGraceMs: 500 });
  });

  afterEach(async () => {
    for (const ffmpeg of encoders) {
      if (ffmpeg.exitCode === null && ffmpeg.signalCode === null) {
        ffmpeg.kill('SIGKILL');
        await once(ffmpeg, 'exit');
      }
    }
    encoders.clear();
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await sfu?.close();
  });

  it('refuses a caller without the shared secret, and creates nothing', async () => {
    const show = newId();
    const transportsBefore = openTransports();
    for (const authorization of [null, 'Bearer not-the-secret', `Basic ${TEST_TOKEN_SECRET}`, `Bearer ${await tokenFor(show, 'publisher')}`]) {
      const response = await post(show, REQUEST, authorization);
      expect(response.status, String(authorization)).toBe(401);
    }
    expect((await remove(show, 'anything', 'Bearer nope')).status).toBe(401);
    expect(sfu.server.rooms.get(show)).toBeUndefined();
    expect(openTransports()).toBe(transportsBefore);
  });

  it('answers a bad request with 400 (422 for a profile that needs re-encoding), and creates nothing', async () => {
    const show = newId();
    const transportsBefore = openTransports();
    const bad: Array<[unknown, number]> = [
      ['not json', 400],
      [{}, 400],
      [{ ...REQUEST, video: { ...VIDEO, payloadType: 300 } }, 400],
      [{ ...REQUEST, audio: { payloadType: 111 } }, 400],
      [{ ...REQUEST, video: { ...VIDEO, profileLevelId: 'high' } }, 400],
      [{ ...REQUEST, source: { protocol: 'srt', videoReencoded: false } }, 400],
      [{ ...REQUEST, video: { ...VIDEO, profileLevelId: '640028' } }, 422],
    ];
    for (const [body, status] of bad) {
      const response = await post(show, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/problem\+json/);
    }
    expect((await post('not-a-show', REQUEST)).status).toBe(400);
    expect(sfu.server.rooms.get(show)).toBeUndefined();
    expect(sfu.server.plainIngest.showIds).not.toContain(show);
    expect(openTransports()).toBe(transportsBefore);
  });

  it('opens producers that a signaling viewer is told of and receives, carries FFmpeg’s RTP into them, and lists the source in /stats', async () => {
    const show = newId();
    const viewer = await join(show);
    const response = await post(show, REQUEST);
    expect(response.status).toBe(201);
    const ingest = PlainIngestResponse.parse(await response.json());
    expect(ingest.showId).toBe(show);
    expect(response.headers.get('location')).toBe(plainIngestItemPath(show, ingest.ingestId));
    expect(ingest.video).toMatchObject({ ip: '127.0.0.1' });
    expect(new Set([ingest.video.port, ingest.video.rtcpPort, ingest.audio.port, ingest.audio.rtcpPort]).size).toBe(4);

    const announced = [await viewer.nextNotification('newProducer'), await viewer.nextNotification('newProducer')];
    expect(announced.map((producer) => [producer.kind, producer.peerId])).toEqual([
      ['audio', PLAIN_INGEST_OWNER],
      ['video', PLAIN_INGEST_OWNER],
    ]);

    // The viewer consumes both, as a browser would.
    const { rtpCapabilities } = await viewer.request('getRouterRtpCapabilities', {});
    const recv = await viewer.request('createWebRtcTransport', { direction: 'recv' });
    for (const { producerId, kind } of announced) {
      const consumer = await viewer.request('consume', { transportId: recv.transportId, producerId, rtpCapabilities });
      expect(consumer.kind).toBe(kind);
      expect(consumer.rtpParameters.codecs[0]?.mimeType).toBe(kind === 'video' ? 'video/H264' : 'audio/opus');
    }

    // FFmpeg's RTP arrives in both producers: the ports and the comedia latching work.
    sendRtp(ingest);
    const room = sfu.server.rooms.get(show)!;
    await expect
      .poll(async () => {
        const byteCounts = await Promise.all(room.producers.map(async (producer) => (await producer.getStats())[0]?.byteCount ?? 0));
        return byteCounts.length === 2 && byteCounts.every((count) => count > 0);
      }, { timeout: 15_000, interval: 200 })
      .toBe(true);
    const listed = (await stats()).shows.find((entry) => entry.show === show);
    expect(listed?.ingest).toEqual({ ingestId: ingest.ingestId, profileLevelId: '42c01f', source: REQUEST.source });
    expect(listed?.producers.map((producer) => producer.kind).sort()).toEqual(['audio', 'video']);
  });

  it('closes the producers on DELETE (viewers are told), keeps the room only as long as someone is in it', async () => {
    const show = newId();
    const viewer = await join(show);
    const ingest = PlainIngestResponse.parse(await (await post(show, REQUEST)).json());
    const producerIds = [(await viewer.nextNotification('newProducer')).producerId, (await viewer.nextNotification('newProducer')).producerId];

    expect((await remove(show, newId())).status).toBe(404);
    const deleted = await remove(show, ingest.ingestId);
    expect(deleted.status).toBe(204);
    const closed = [(await viewer.nextNotification('producerClosed')).producerId, (await viewer.nextNotification('producerClosed')).producerId];
    expect(closed.sort()).toEqual([...producerIds].sort());
    expect(sfu.server.rooms.get(show)?.producers).toEqual([]);
    expect((await stats()).shows.find((entry) => entry.show === show)?.ingest).toBeUndefined();
    expect((await remove(show, ingest.ingestId)).status).toBe(404);
  });

  it('holds the room open with nobody in it, and replaces a show’s ingest with a newer one', async () => {
    const show = newId();
    const first = PlainIngestResponse.parse(await (await post(show, REQUEST)).json());
    // Longer than the empty-room grace: the ingest alone keeps the show's room.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const room = sfu.server.rooms.get(show);
    expect(room?.closed).toBe(false);
    const viewer = await join(show);
    const firstIds = [(await viewer.nextNotification('newProducer')).producerId, (await viewer.nextNotification('newProducer')).producerId];

    const second = PlainIngestResponse.parse(await (await post(show, REQUEST)).json());
    expect(second.ingestId).not.toBe(first.ingestId);
    expect(second.video.port).not.toBe(first.video.port);
    const closed = [(await viewer.nextNotification('producerClosed')).producerId, (await viewer.nextNotification('producerClosed')).producerId];
    expect(closed.sort()).toEqual([...firstIds].sort());
    expect(room?.producers).toHaveLength(2);
    expect(room?.producers.map((producer) => producer.id)).not.toContain(firstIds[0]);
    expect((await remove(show, first.ingestId)).status).toBe(404);
    expect((await remove(show, second.ingestId)).status).toBe(204);
  });

  it('goes with the show’s room when the show ends, and refuses an ended show', async () => {
    const show = newId();
    const transportsBefore = openTransports();
    const ingest = PlainIngestResponse.parse(await (await post(show, REQUEST)).json());
    expect(openTransports()).toBe(transportsBefore + 2);
    sfu.server.rooms.endShow(show);
    expect(sfu.server.plainIngest.showIds).not.toContain(show);
    expect(openTransports()).toBe(transportsBefore);
    expect((await remove(show, ingest.ingestId)).status).toBe(404);
    expect((await post(show, REQUEST)).status).toBe(410);
  });
});
