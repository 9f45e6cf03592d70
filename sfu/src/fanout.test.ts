import './testing/workerBin.ts';
import { newId, SfuStats, type RtpCapabilities, type RtpParameters } from '@mytaek1/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { consumeToSink, sequenceGaps, startFfmpegVp8Producer, startRtpSink, type FfmpegProducer, type RtpSink } from './testing/rtp.ts';
import { SignalingTestClient } from './testing/SignalingTestClient.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { tokenFor } from './testing/tokens.ts';

/**
 * A show past one router's share: with SFU_MAX_CONSUMERS_PER_ROUTER low, viewers land on edge
 * routers opened on other workers and fed by pipeToRouter, with nothing different for them.
 */

const MAX_CONSUMERS_PER_ROUTER = 4;

const opusSendParameters: RtpParameters = {
  mid: '0',
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }],
  encodings: [{ ssrc: 11111111 }],
  rtcp: { cname: 'fanout-publisher' },
};
const vp8SendParameters: RtpParameters = {
  mid: '1',
  codecs: [
    { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] },
    { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
  ],
  encodings: [{ ssrc: 22222222, rtx: { ssrc: 22222223 } }],
  rtcp: { cname: 'fanout-publisher' },
};

type Viewer = { client: SignalingTestClient; transportId: string; rtpCapabilities: RtpCapabilities; consumerIds: string[] };

describe('fan-out past one router', () => {
  const clients: SignalingTestClient[] = [];
  const running: FfmpegProducer[] = [];
  const sinks: RtpSink[] = [];

  async function connect(sfu: TestSfu, show: string, role: 'publisher' | 'viewer'): Promise<SignalingTestClient> {
    const client = await SignalingTestClient.connect(sfu.wsUrl(show, await tokenFor(show, role)));
    clients.push(client);
    return client;
  }

  /** A publisher sending (the parameters of) an Opus and a VP8 track. */
  async function publish(sfu: TestSfu, show: string): Promise<{ client: SignalingTestClient; transportId: string; producerIds: string[] }> {
    const client = await connect(sfu, show, 'publisher');
    const { transportId } = await client.request('createWebRtcTransport', { direction: 'send' });
    const audio = await client.request('produce', { transportId, kind: 'audio', rtpParameters: opusSendParameters });
    const video = await client.request('produce', { transportId, kind: 'video', rtpParameters: vp8SendParameters });
    return { client, transportId, producerIds: [audio.producerId, video.producerId] };
  }

  /** A viewer as a browser would be one: capabilities, a receive transport, a consumer per producer, resumed. */
  async function watch(sfu: TestSfu, show: string, producerIds: string[]): Promise<Viewer> {
    const client = await connect(sfu, show, 'viewer');
    const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
    const { transportId } = await client.request('createWebRtcTransport', { direction: 'recv' });
    const consumerIds: string[] = [];
    for (const producerId of producerIds) {
      const consumed = await client.request('consume', { transportId, producerId, rtpCapabilities });
      expect(consumed.producerId).toBe(producerId);
      await client.request('resumeConsumer', { consumerId: consumed.consumerId });
      consumerIds.push(consumed.consumerId);
    }
    return { client, transportId, rtpCapabilities, consumerIds };
  }

  async function stats(sfu: TestSfu): Promise<SfuStats> {
    return SfuStats.parse(await (await fetch(`${sfu.server.url}/stats`)).json());
  }

  afterEach(async () => {
    await Promise.all(running.splice(0).map((running) => running.stop()));
    for (const sink of sinks.splice(0)) sink.close();
    const done = clients.splice(0);
    await Promise.all(done.map((client) => client.close()));
    for (const client of done) expect(client.protocolErrors).toEqual([]);
  });

  describe('with three workers', () => {
    let sfu: TestSfu;

    beforeAll(async () => {
      sfu = await startSfu({ workers: 3, maxConsumersPerRouter: MAX_CONSUMERS_PER_ROUTER, emptyRoomGraceMs: 1_000 });
    });

    afterAll(async () => {
      await sfu?.close();
    });

    it('places viewers past the threshold on edge routers of other workers, and pipes later producers to them', async () => {
      const show = newId();
      const publisher = await publish(sfu, show);
      // Two consumers per viewer, four per router: two viewers per router; five viewers need three routers.
      const viewers: Viewer[] = [];
      for (let i = 0; i < 5; i++) viewers.push(await watch(sfu, show, publisher.producerIds));

      const room = sfu.server.rooms.get(show)!;
      const routers = room.routers;
      expect(routers.map((router) => router.role)).toEqual(['origin', 'edge', 'edge']);
      // Each router on its own worker: the show uses three cores.
      expect(new Set(routers.map((router) => router.worker.pid)).size).toBe(3);
      const viewerRouters = viewers.map((viewer) => room.routerOf(viewer.transportId)?.router.id);
      expect(viewerRouters).toEqual([routers[0]!.router.id, routers[0]!.router.id, routers[1]!.router.id, routers[1]!.router.id, routers[2]!.router.id]);

      const showStats = (await stats(sfu)).shows.find((entry) => entry.show === show)!;
      expect(showStats.routers?.map(({ role, viewers, consumers }) => ({ role, viewers, consumers }))).toEqual([
        { role: 'origin', viewers: 2, consumers: 4 },
        { role: 'edge', viewers: 2, consumers: 4 },
        { role: 'edge', viewers: 1, consumers: 2 },
      ]);
      expect(showStats.consumers).toBe(10);

      // A producer that appears now reaches the viewers on the edges too: they hear of it and consume it.
      const late = await publisher.client.request('produce', {
        transportId: publisher.transportId,
        kind: 'audio',
        rtpParameters: { ...opusSendParameters, mid: '2', encodings: [{ ssrc: 33333333 }] },
      });
      const lastViewer = viewers[4]!;
      // (Past the newProducer notifications it got on admission, for the first two.)
      let heard = await lastViewer.client.nextNotification('newProducer');
      while (heard.producerId !== late.producerId) heard = await lastViewer.client.nextNotification('newProducer');
      expect(heard).toMatchObject({ producerId: late.producerId, kind: 'audio' });
      const consumed = await lastViewer.client.request('consume', { transportId: lastViewer.transportId, producerId: late.producerId, rtpCapabilities: lastViewer.rtpCapabilities });
      expect(consumed).toMatchObject({ producerId: late.producerId, kind: 'audio', type: 'simple' });

      // The producer closing closes the consumers on the edges too, under the id the viewer knows.
      await publisher.client.request('closeProducer', { producerId: late.producerId });
      expect(await lastViewer.client.nextNotification('consumerClosed')).toEqual({ consumerId: consumed.consumerId, producerId: late.producerId });

      // Viewers leaving empties the edges, which close after the grace period; the origin stays.
      await Promise.all(viewers.map((viewer) => viewer.client.close()));
      await expect.poll(() => room.routers.length, { timeout: 5_000, interval: 100 }).toBe(1);
      expect(room.routers[0]!.role).toBe('origin');
      expect(sfu.pool.loads().reduce((sum, load) => sum + load.routers, 0)).toBe(1);
    });

    it('delivers an FFmpeg producer’s RTP to a consumer on an edge router of another worker', async () => {
      const show = newId();
      const publisher = await publish(sfu, show);
      const room = sfu.server.rooms.get(show)!;
      const ffmpeg = await startFfmpegVp8Producer(room.originRouter, { seconds: 20 });
      running.push(ffmpeg);
      room.addExternalProducer(ffmpeg.producer, 'ffmpeg');

      // Fill the origin (two viewers of three producers: six consumers are past four) so that an edge opens.
      const producerIds = [...publisher.producerIds, ffmpeg.producer.id];
      await watch(sfu, show, producerIds);
      await watch(sfu, show, producerIds);
      const edge = room.routers.find((router) => router.role === 'edge');
      expect(edge).toBeDefined();
      expect(edge!.worker).not.toBe(room.routers[0]!.worker);

      // Across workers the piped producer keeps its id: consume it on the edge into a socket of ours.
      const sink = await startRtpSink();
      sinks.push(sink);
      const { consumer, ssrc } = await consumeToSink(edge!.router, ffmpeg.producer.id, sink);
      const startedAt = performance.now();
      const packets = await sink.waitForPackets(ssrc, 60, 15_000).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; ffmpeg: ${ffmpeg.errors()}`);
      });
      expect(new Set(packets.map((header) => header.payloadType))).toEqual(new Set([consumer.rtpParameters.codecs[0]!.payloadType]));
      expect(sequenceGaps(packets)).toBeLessThanOrEqual(2);
      const stats = await consumer.getStats();
      expect(stats.find((entry) => entry.type === 'outbound-rtp')?.packetCount ?? 0).toBeGreaterThan(0);
      console.info(`60 RTP packets from FFmpeg through origin (pid ${room.workerPid}) and edge (pid ${edge!.worker.pid}) in ${Math.round(performance.now() - startedAt)} ms`);
    });

    it('tells only the viewers of an edge whose worker died to reconnect', async () => {
      const show = newId();
      const publisher = await publish(sfu, show);
      const onOrigin = [await watch(sfu, show, publisher.producerIds), await watch(sfu, show, publisher.producerIds)];
      const onEdge = await watch(sfu, show, publisher.producerIds);
      const room = sfu.server.rooms.get(show)!;
      const edge = room.routerOf(onEdge.transportId)!;
      expect(edge.role).toBe('edge');

      process.kill(edge.worker.pid, 'SIGKILL');
      expect(await onEdge.client.nextNotification('reconnect')).toEqual({ reason: 'worker_died' });
      await expect.poll(() => room.routers.length, { timeout: 5_000 }).toBe(1);
      // The origin, its publisher and its viewers carried on untouched.
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const client of [publisher.client, ...onOrigin.map((viewer) => viewer.client)]) {
        expect(client.notifications.filter((notification) => notification.method === 'reconnect')).toEqual([]);
      }
      await expect.poll(() => sfu.pool.size, { timeout: 5_000 }).toBe(3);

      // The viewer sets up again, as after any reconnect, and lands on a (new) edge.
      const { rtpCapabilities } = await onEdge.client.request('getRouterRtpCapabilities', {});
      const { transportId } = await onEdge.client.request('createWebRtcTransport', { direction: 'recv' });
      const consumed = await onEdge.client.request('consume', { transportId, producerId: publisher.producerIds[1]!, rtpCapabilities });
      expect(consumed.kind).toBe('video');
      expect(room.routerOf(transportId)?.role).toBe('edge');
    });
  });

  describe('with one worker', () => {
    let sfu: TestSfu;

    beforeAll(async () => {
      sfu = await startSfu({ workers: 1, maxConsumersPerRouter: MAX_CONSUMERS_PER_ROUTER });
    });

    afterAll(async () => {
      await sfu?.close();
    });

    it('still splits a show over routers, and viewers consume by the ids they were told', async () => {
      const show = newId();
      const publisher = await publish(sfu, show);
      const viewers: Viewer[] = [];
      for (let i = 0; i < 3; i++) viewers.push(await watch(sfu, show, publisher.producerIds));
      const room = sfu.server.rooms.get(show)!;
      // Within one worker pipeToRouter gives the piped producer an id of its own: the room translates.
      expect(room.routers.map((router) => router.role)).toEqual(['origin', 'edge']);
      expect(new Set(room.routers.map((router) => router.worker.pid)).size).toBe(1);
      const last = viewers[2]!;
      expect(room.routerOf(last.transportId)?.role).toBe('edge');
      await publisher.client.request('closeProducer', { producerId: publisher.producerIds[0]! });
      expect(await last.client.nextNotification('consumerClosed')).toEqual({ consumerId: last.consumerIds[0], producerId: publisher.producerIds[0] });
    });
  });
});
