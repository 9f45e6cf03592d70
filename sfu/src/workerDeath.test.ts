import './testing/workerBin.ts';
import { newId, type RtpParameters } from '@mytaek1/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignalingTestClient } from './testing/SignalingTestClient.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { tokenFor } from './testing/tokens.ts';

const opusSendParameters: RtpParameters = {
  mid: '0',
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }],
  encodings: [{ ssrc: 33333333 }],
  rtcp: { cname: 'test-publisher' },
};

/**
 * A worker that dies takes every router, transport, producer and consumer on it. The pool replaces
 * the worker; the room takes a router on a live worker and tells its peers to `reconnect`, keeping
 * their signaling sessions, and they set their media up again.
 */
describe('a media worker dying under a live show', () => {
  let sfu: TestSfu;

  beforeAll(async () => {
    // One worker, the hardest case: the room can only go to the replacement.
    sfu = await startSfu({ workers: 1 });
  });

  afterAll(async () => {
    await sfu?.close();
  });

  it('moves the room to the replacement worker and tells every peer to reconnect', async () => {
    const show = newId();
    const publisher = await SignalingTestClient.connect(sfu.wsUrl(show, await tokenFor(show, 'publisher')));
    const viewer = await SignalingTestClient.connect(sfu.wsUrl(show, await tokenFor(show, 'viewer')));
    try {
      const send = await publisher.request('createWebRtcTransport', { direction: 'send' });
      const { producerId } = await publisher.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: opusSendParameters });
      expect(await viewer.nextNotification('newProducer')).toMatchObject({ producerId });
      const { rtpCapabilities } = await viewer.request('getRouterRtpCapabilities', {});
      const recv = await viewer.request('createWebRtcTransport', { direction: 'recv' });
      await viewer.request('consume', { transportId: recv.transportId, producerId, rtpCapabilities });

      const room = sfu.server.rooms.get(show)!;
      const deadPid = room.workerPid;
      const killedAt = performance.now();
      process.kill(deadPid, 'SIGKILL');

      expect(await publisher.nextNotification('reconnect')).toEqual({ reason: 'worker_died' });
      expect(await viewer.nextNotification('reconnect')).toEqual({ reason: 'worker_died' });
      const recoveredInMs = Math.round(performance.now() - killedAt);

      // Same room, same sessions, new worker; the old media is gone.
      expect(sfu.server.rooms.get(show)).toBe(room);
      expect(room.closed).toBe(false);
      expect(room.workerPid).not.toBe(deadPid);
      expect(sfu.pool.size).toBe(1);
      expect(sfu.pool.loads().map((load) => load.pid)).toEqual([room.workerPid]);
      await expect(publisher.request('connectTransport', { transportId: send.transportId, dtlsParameters: send.dtlsParameters })).rejects.toMatchObject({
        code: 'not_found',
      });
      // The reconnect is not a consumer closing: the client hears of it once, as `reconnect`.
      expect(viewer.notifications.filter((notification) => notification.method === 'consumerClosed')).toEqual([]);

      // Set up again, as a client does after `reconnect`.
      const send2 = await publisher.request('createWebRtcTransport', { direction: 'send' });
      const produced = await publisher.request('produce', { transportId: send2.transportId, kind: 'audio', rtpParameters: opusSendParameters });
      expect(await viewer.nextNotification('newProducer')).toMatchObject({ producerId: produced.producerId });
      const caps = await viewer.request('getRouterRtpCapabilities', {});
      const recv2 = await viewer.request('createWebRtcTransport', { direction: 'recv' });
      for (const candidate of recv2.iceCandidates) expect(candidate.address).toBe('127.0.0.1');
      const consumer = await viewer.request('consume', { transportId: recv2.transportId, producerId: produced.producerId, rtpCapabilities: caps.rtpCapabilities });
      expect(consumer.kind).toBe('audio');

      const health = await (await fetch(`${sfu.server.url}/healthz`)).json();
      expect(health).toMatchObject({ status: 'ok', workers: 1 });
      expect(publisher.protocolErrors).toEqual([]);
      expect(viewer.protocolErrors).toEqual([]);
      console.info(`worker ${deadPid} killed; peers told to reconnect after ${recoveredInMs} ms, room now on worker ${room.workerPid}`);
    } finally {
      await Promise.all([publisher.close(), viewer.close()]);
    }
  });
});
