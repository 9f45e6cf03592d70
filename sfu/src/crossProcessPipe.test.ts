import './testing/workerBin.ts';
import { fileURLToPath } from 'node:url';
import { newId, SFU_PIPE_PATH, SfuStats } from '@mytaek1/contracts';
import { freePort, startProcess, type RunningProcess } from '@mytaek1/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Room } from './Room.ts';
import { consumeToSink, sequenceGaps, startFfmpegVp8Producer, startRtpSink, type FfmpegProducer, type RtpSink } from './testing/rtp.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { TEST_TOKEN_SECRET, tokenFor } from './testing/tokens.ts';

/**
 * A show piped between sfu processes: mediasoup's pipeToRouter joins routers of one process only, so
 * across processes (and hosts) an edge sfu asks the origin for the show over one authenticated HTTP
 * call that exchanges the two PipeTransports' addresses and SRTP keys (OriginPipe, PipeServer).
 *
 * Three sfu instances: A (this process) with an FFmpeg producer; B, a second process started as
 * `node sfu/src/index.ts` with SFU_ORIGIN_URL=A; C (this process again) with SFU_ORIGIN_URL=B. The
 * media goes A's worker -> B's worker -> C's worker -> a UDP socket of this test: B receives it from
 * A and its consumer (the pipe consumer towards C) sends it on.
 */

const SFU_DIR = fileURLToPath(new URL('..', import.meta.url));

describe('a show piped from one sfu process to another', () => {
  let origin: TestSfu;
  let edgeProcess: RunningProcess;
  let edgeUrl: string;
  let leaf: TestSfu;
  let ffmpeg: FfmpegProducer | undefined;
  let sink: RtpSink | undefined;

  beforeAll(async () => {
    origin = await startSfu({ workers: 1, portRange: { min: 40000, max: 44999 } });
    const port = await freePort();
    edgeProcess = startProcess(process.execPath, ['src/index.ts'], {
      cwd: SFU_DIR,
      env: {
        ...process.env,
        SFU_PORT: String(port),
        SFU_HOST: '127.0.0.1',
        SFU_ORIGIN_URL: origin.server.url,
        TOKEN_SECRET: TEST_TOKEN_SECRET,
        SFU_WORKERS: '1',
        RTC_MIN_PORT: '45000',
        RTC_MAX_PORT: '47499',
        SFU_EMPTY_ROOM_GRACE_MS: '2000',
        SFU_LOG_LEVEL: 'info',
      },
    });
    const [, url] = await edgeProcess.waitForOutput(/listening on (http:\/\/\S+)/, 20_000);
    edgeUrl = url!;
    leaf = await startSfu({ workers: 1, originUrl: edgeUrl, portRange: { min: 47500, max: 49999 } });
  });

  afterAll(async () => {
    await ffmpeg?.stop();
    sink?.close();
    await leaf?.close();
    await edgeProcess?.stop();
    await origin?.close();
    // The second process exited, with its worker (no orphan mediasoup-worker is left behind).
    expect(edgeProcess.child.exitCode ?? edgeProcess.child.signalCode).not.toBeNull();
  });

  it('refuses a pipe without the shared secret', async () => {
    const response = await fetch(`${origin.server.url}${SFU_PIPE_PATH}`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-secret', 'content-type': 'application/json' },
      body: JSON.stringify({ show: newId(), ip: '127.0.0.1', port: 9, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: 'x' } }),
    });
    expect(response.status).toBe(401);
    expect(origin.server.pipes.openPipes).toBe(0);
  });

  it('closes the origin’s end of a pipe when the edge hangs up', async () => {
    const show = newId();
    const originRoom = await origin.server.rooms.getOrCreate(show);
    const edge = await startSfu({ workers: 1, originUrl: origin.server.url, portRange: { min: 47500, max: 49999 } });
    try {
      const edgeRoom = await edge.server.rooms.getOrCreate(show);
      await edgeRoom.producersKnown(5_000);
      expect(origin.server.pipes.openPipes).toBe(1);
      edgeRoom.close('idle');
      await expect.poll(() => origin.server.pipes.openPipes, { timeout: 5_000 }).toBe(0);
      // The origin's room no longer held by the pipe, it closes on its own once its grace period is over.
      expect(originRoom.closed).toBe(false);
    } finally {
      await edge.close();
    }
  });

  it('carries RTP produced on the first process through the second one, and the end of the show back', async () => {
    const show = newId();
    const originRoom = await origin.server.rooms.getOrCreate(show);
    ffmpeg = await startFfmpegVp8Producer(originRoom.originRouter, { seconds: 30 });
    originRoom.addExternalProducer(ffmpeg.producer, 'ffmpeg');

    // Asking C for the show makes C pipe from B, and B from A.
    const leafRoom: Room = await leaf.server.rooms.getOrCreate(show);
    await leafRoom.producersKnown(10_000);
    expect(leafRoom.producers.map((producer) => producer.id)).toEqual([ffmpeg.producer.id]);

    sink = await startRtpSink();
    const { consumer, ssrc } = await consumeToSink(leafRoom.originRouter, ffmpeg.producer.id, sink);
    const startedAt = performance.now();
    const packets = await sink.waitForPackets(ssrc, 90, 20_000).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nffmpeg: ${ffmpeg?.errors()}\nsecond process:\n${edgeProcess.output()}`);
    });
    expect(new Set(packets.map((header) => header.payloadType))).toEqual(new Set([consumer.rtpParameters.codecs[0]!.payloadType]));
    expect(sequenceGaps(packets)).toBeLessThanOrEqual(2);

    // The second process received the media (its piped-in producer has a bitrate) and knows where from.
    const edgeStats = SfuStats.parse(await (await fetch(`${edgeUrl}/stats`)).json());
    const edgeShow = edgeStats.shows.find((entry) => entry.show === show);
    expect(edgeShow?.originUrl).toBe(origin.server.url);
    expect(edgeShow?.producers.map((producer) => producer.producerId)).toEqual([ffmpeg.producer.id]);
    expect(edgeShow?.producers[0]?.byteCount).toBeGreaterThan(0);
    expect(origin.server.pipes.openPipes).toBe(1);
    console.info(`90 RTP packets through three sfu instances (two processes) in ${Math.round(performance.now() - startedAt)} ms`);

    // Publishing on an edge is sent to the origin.
    const whip = await fetch(`${edgeUrl}/whip/${show}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' });
    expect(whip.status).toBe(307);
    expect(whip.headers.get('location')).toBe(`${origin.server.url}/whip/${show}`);

    // Ending the show at the origin ends it down the tree.
    const ended = await fetch(`${origin.server.url}/shows/${show}/end`, { method: 'POST', headers: { authorization: `Bearer ${await tokenFor(show, 'publisher')}` } });
    expect(ended.status).toBe(204);
    await expect.poll(() => leaf.server.rooms.hasEnded(show), { timeout: 10_000 }).toBe(true);
    expect(leafRoom.closed).toBe(true);
    await expect.poll(() => origin.server.pipes.openPipes, { timeout: 5_000 }).toBe(0);
  });
});
