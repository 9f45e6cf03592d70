import './testing/workerBin.ts';
import { once } from 'node:events';
import { newId, SfuStats, SignalingCloseCode, type RtpParameters } from '@mytaek1/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignalingTestClient } from './testing/SignalingTestClient.ts';
import { startSfu, type TestSfu } from './testing/startSfu.ts';
import { TEST_TOKEN_SECRET, tokenFor } from './testing/tokens.ts';

/** What a browser's VP8 send track would produce with (mediasoup-client's output, trimmed). */
const vp8SendParameters: RtpParameters = {
  mid: '0',
  codecs: [
    {
      mimeType: 'video/VP8',
      payloadType: 96,
      clockRate: 90000,
      rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }],
    },
    { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
  ],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
  encodings: [{ ssrc: 22222222, rtx: { ssrc: 22222223 } }],
  rtcp: { cname: 'test-publisher' },
};

const EMPTY_ROOM_GRACE_MS = 400;
const AUTH_TIMEOUT_MS = 500;

describe('signaling', () => {
  let sfu: TestSfu;
  const clients: SignalingTestClient[] = [];

  async function connect(url: string): Promise<SignalingTestClient> {
    const client = await SignalingTestClient.connect(url);
    clients.push(client);
    return client;
  }

  /** Connects and waits until admitted: the first answered request is the proof. */
  async function join(show: string, role: 'publisher' | 'viewer' | 'moderator'): Promise<SignalingTestClient> {
    const client = await connect(sfu.wsUrl(show, await tokenFor(show, role)));
    await client.request('getRouterRtpCapabilities', {});
    return client;
  }

  /** The sum of open transports over all workers: proves that a refusal created nothing. */
  const openTransports = (): number => sfu.pool.loads().reduce((sum, load) => sum + load.transports, 0);
  const openRouters = (): number => sfu.pool.loads().reduce((sum, load) => sum + load.routers, 0);

  beforeAll(async () => {
    sfu = await startSfu({ emptyRoomGraceMs: EMPTY_ROOM_GRACE_MS, authTimeoutMs: AUTH_TIMEOUT_MS });
  });

  afterEach(async () => {
    const done = clients.splice(0);
    await Promise.all(done.map((client) => client.close()));
    // Every frame the sfu sent matched the contract.
    for (const client of done) expect(client.protocolErrors).toEqual([]);
  });

  afterAll(async () => {
    await sfu?.close();
  });

  describe('admission', () => {
    const show = newId();

    type Refusal = { name: string; url: () => Promise<string>; firstMessage?: () => Promise<unknown>; code: number; reason: string };
    const refusals: Refusal[] = [
      {
        name: 'a forged token (signed with another secret)',
        url: async () => sfu.wsUrl(show, await tokenFor(show, 'publisher', { secret: `${TEST_TOKEN_SECRET}-not-ours` })),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_bad_signature',
      },
      {
        name: 'a token whose role was edited after signing',
        url: async () => {
          const [header, payload, signature] = (await tokenFor(show, 'viewer')).split('.');
          const claims: unknown = JSON.parse(Buffer.from(payload!, 'base64url').toString());
          const edited = Buffer.from(JSON.stringify({ ...(claims as object), role: 'publisher' })).toString('base64url');
          return sfu.wsUrl(show, `${header}.${edited}.${signature}`);
        },
        code: SignalingCloseCode.unauthorized,
        reason: 'token_bad_signature',
      },
      {
        name: 'garbage for a token',
        url: async () => sfu.wsUrl(show, 'not-a-token'),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_malformed',
      },
      {
        name: 'an expired token',
        url: async () => sfu.wsUrl(show, await tokenFor(show, 'viewer', { ttlSeconds: 60, now: Date.now() - 120_000 })),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_expired',
      },
      {
        name: 'a token for the realtime rooms, not the sfu',
        url: async () => sfu.wsUrl(show, await tokenFor(show, 'viewer', { audience: 'realtime' })),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_wrong_audience',
      },
      {
        name: "a valid token for another show than the URL's",
        url: async () => sfu.wsUrl(show, await tokenFor(newId(), 'publisher')),
        code: SignalingCloseCode.forbidden,
        reason: 'wrong_show',
      },
      {
        name: 'a URL without a show',
        url: async () => sfu.wsUrl(undefined, await tokenFor(show, 'viewer')),
        code: SignalingCloseCode.badRequest,
        reason: 'show_missing',
      },
      {
        name: 'no token, and a first message that is not authenticate',
        url: async () => sfu.wsUrl(show),
        firstMessage: async () => ({ type: 'request', id: 1, method: 'getRouterRtpCapabilities', data: {} }),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_missing',
      },
      {
        name: 'no token, and an expired one in the authenticate message',
        url: async () => sfu.wsUrl(show),
        firstMessage: async () => ({
          type: 'request',
          id: 1,
          method: 'authenticate',
          data: { token: await tokenFor(show, 'viewer', { ttlSeconds: 1, now: Date.now() - 10_000 }) },
        }),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_expired',
      },
      {
        name: 'no token at all, and silence',
        url: async () => sfu.wsUrl(show),
        code: SignalingCloseCode.unauthorized,
        reason: 'token_missing',
      },
    ];

    it.each(refusals)('refuses $name with $code $reason, creating nothing', async ({ url, firstMessage, code, reason }) => {
      const client = await connect(await url());
      if (firstMessage) client.send(await firstMessage());
      expect(await client.closed).toEqual({ code, reason });
      expect(sfu.server.rooms.get(show)).toBeUndefined();
      expect(openRouters()).toBe(0);
      expect(openTransports()).toBe(0);
    });

    it('admits a viewer with the token in the URL: router capabilities, and a receive transport on 127.0.0.1', async () => {
      const viewer = await join(show, 'viewer');
      const { rtpCapabilities } = await viewer.request('getRouterRtpCapabilities', {});
      const codecs = rtpCapabilities.codecs ?? [];
      expect(codecs.map((codec) => codec.mimeType)).toEqual(['audio/opus', 'video/VP8', 'video/rtx', 'video/H264', 'video/rtx']);
      expect(codecs.find((codec) => codec.mimeType === 'audio/opus')).toMatchObject({ clockRate: 48000, channels: 2 });
      expect(codecs.find((codec) => codec.mimeType === 'video/H264')?.parameters).toMatchObject({ 'packetization-mode': 1, 'profile-level-id': '42e01f' });

      const transport = await viewer.request('createWebRtcTransport', { direction: 'recv' });
      expect(transport.iceCandidates.length).toBeGreaterThan(0);
      for (const candidate of transport.iceCandidates) expect(candidate.address).toBe('127.0.0.1');
      expect(new Set(transport.iceCandidates.map((candidate) => candidate.protocol))).toEqual(new Set(['udp', 'tcp']));
      expect(transport.dtlsParameters.fingerprints.length).toBeGreaterThan(0);
      expect(openTransports()).toBe(1);
    });

    it('admits a viewer whose token comes in the first message', async () => {
      const viewer = await connect(sfu.wsUrl(show));
      const admitted = await viewer.request('authenticate', { token: await tokenFor(show, 'viewer', { sub: 'shopper-1' }) });
      expect(admitted).toMatchObject({ show, role: 'viewer' });
      const { rtpCapabilities } = await viewer.request('getRouterRtpCapabilities', {});
      expect(rtpCapabilities.codecs?.length).toBeGreaterThan(0);
      // Only once: a second authenticate is a protocol error, answered as such.
      await expect(viewer.request('authenticate', { token: 'x' })).rejects.toMatchObject({ code: 'bad_request' });
    });

    it('forbids a viewer to send media, before creating anything', async () => {
      const viewer = await join(show, 'viewer');
      const before = openTransports();
      await expect(viewer.request('createWebRtcTransport', { direction: 'send' })).rejects.toMatchObject({ code: 'forbidden' });
      const recv = await viewer.request('createWebRtcTransport', { direction: 'recv' });
      await expect(viewer.request('produce', { transportId: recv.transportId, kind: 'video', rtpParameters: vp8SendParameters })).rejects.toMatchObject({
        code: 'forbidden',
      });
      expect(openTransports()).toBe(before + 1);
      // A moderator watches and may end the show, but does not send media either.
      const moderator = await join(show, 'moderator');
      await expect(moderator.request('createWebRtcTransport', { direction: 'send' })).rejects.toMatchObject({ code: 'forbidden' });
    });

    it('refuses more than a handful of transports per peer', async () => {
      const viewer = await join(show, 'viewer');
      for (let i = 0; i < 4; i++) await viewer.request('createWebRtcTransport', { direction: 'recv' });
      await expect(viewer.request('createWebRtcTransport', { direction: 'recv' })).rejects.toMatchObject({ code: 'forbidden' });
    });

    it('answers a malformed request with bad_request and keeps the session', async () => {
      const viewer = await join(show, 'viewer');
      await expect(viewer.request('createWebRtcTransport', { direction: 'sideways' } as never)).rejects.toMatchObject({ code: 'bad_request' });
      await expect(viewer.request('connectTransport', { transportId: 'nope', dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'AB' }] } })).rejects.toMatchObject({
        code: 'not_found',
      });
      expect((await viewer.request('getRouterRtpCapabilities', {})).rtpCapabilities.codecs?.length).toBeGreaterThan(0);
      // A frame that is not even a request ends the session.
      viewer.send('this is not json');
      expect(await viewer.closed).toEqual({ code: SignalingCloseCode.badRequest, reason: 'protocol_error' });
    });
  });

  describe('publishing and watching', () => {
    it('tells viewers about producers, lets them consume and resume, and tells them when a producer goes', async () => {
      const show = newId();
      const publisher = await join(show, 'publisher');
      const earlyViewer = await join(show, 'viewer');

      const send = await publisher.request('createWebRtcTransport', { direction: 'send' });
      const { producerId } = await publisher.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: vp8SendParameters });
      expect(await earlyViewer.nextNotification('newProducer')).toMatchObject({ producerId, kind: 'video' });

      // A viewer arriving later hears of the producer on admission.
      const lateViewer = await join(show, 'viewer');
      expect(await lateViewer.nextNotification('newProducer')).toMatchObject({ producerId, kind: 'video' });

      const { rtpCapabilities } = await lateViewer.request('getRouterRtpCapabilities', {});
      const recv = await lateViewer.request('createWebRtcTransport', { direction: 'recv' });
      // Consuming on a send transport, or a producer that does not exist, is refused.
      await expect(lateViewer.request('consume', { transportId: recv.transportId, producerId: 'missing', rtpCapabilities })).rejects.toMatchObject({ code: 'not_found' });
      await expect(
        lateViewer.request('consume', { transportId: recv.transportId, producerId, rtpCapabilities: { codecs: rtpCapabilities.codecs?.filter((codec) => codec.kind === 'audio') } }),
      ).rejects.toMatchObject({ code: 'cannot_consume' });

      const consumer = await lateViewer.request('consume', { transportId: recv.transportId, producerId, rtpCapabilities });
      expect(consumer).toMatchObject({ producerId, kind: 'video', type: 'simple', producerPaused: false });
      expect(consumer.rtpParameters.codecs[0]?.mimeType).toBe('video/VP8');
      await lateViewer.request('resumeConsumer', { consumerId: consumer.consumerId });

      const stats = SfuStats.parse(await (await fetch(`${sfu.server.url}/stats`)).json());
      expect(stats.shows.find((entry) => entry.show === show)).toMatchObject({ publishers: 1, viewers: 2, consumers: 1, producers: [{ producerId, kind: 'video' }] });

      await publisher.request('closeProducer', { producerId });
      expect(await lateViewer.nextNotification('consumerClosed')).toEqual({ consumerId: consumer.consumerId, producerId });
      expect(await earlyViewer.nextNotification('producerClosed')).toEqual({ producerId });
      expect(await lateViewer.nextNotification('producerClosed')).toEqual({ producerId });
    });

    it('takes a viewer’s preferred simulcast layers, and reports per viewer what each consumer forwards', async () => {
      const show = newId();
      const publisher = await join(show, 'publisher');
      const send = await publisher.request('createWebRtcTransport', { direction: 'send' });
      // Three simulcast streams, as a browser publisher sends them.
      const simulcast: RtpParameters = {
        ...vp8SendParameters,
        encodings: [0, 1, 2].map((layer) => ({ ssrc: 33333330 + layer * 2, rtx: { ssrc: 33333331 + layer * 2 }, scalabilityMode: 'L1T3' })),
      };
      const { producerId } = await publisher.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: simulcast });

      const viewer = await join(show, 'viewer');
      const { rtpCapabilities } = await viewer.request('getRouterRtpCapabilities', {});
      const recv = await viewer.request('createWebRtcTransport', { direction: 'recv' });
      const consumer = await viewer.request('consume', { transportId: recv.transportId, producerId, rtpCapabilities });
      expect(consumer.type).toBe('simulcast');

      const viewerConsumers = async () => {
        const stats = SfuStats.parse(await (await fetch(`${sfu.server.url}/stats`)).json());
        return stats.shows.find((entry) => entry.show === show)?.peers?.find((peer) => peer.role === 'viewer')?.consumers;
      };
      // mediasoup's default: the top layer.
      expect(await viewerConsumers()).toMatchObject([{ consumerId: consumer.consumerId, type: 'simulcast', preferredLayers: { spatialLayer: 2, temporalLayer: 2 } }]);

      await viewer.request('setConsumerPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: 0 });
      // No temporal layer asked for: the highest of that spatial layer.
      expect(await viewerConsumers()).toMatchObject([{ consumerId: consumer.consumerId, preferredLayers: { spatialLayer: 0, temporalLayer: 2 }, currentLayers: null }]);
      await viewer.request('setConsumerPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: 1, temporalLayer: 0 });
      expect(await viewerConsumers()).toMatchObject([{ preferredLayers: { spatialLayer: 1, temporalLayer: 0 } }]);

      // Someone else's consumer, or none, is not found; out-of-range layers are malformed.
      await expect(publisher.request('setConsumerPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: 0 })).rejects.toMatchObject({ code: 'not_found' });
      await expect(viewer.request('setConsumerPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: -1 })).rejects.toMatchObject({ code: 'bad_request' });
      expect(await viewerConsumers()).toMatchObject([{ preferredLayers: { spatialLayer: 1, temporalLayer: 0 } }]);
    });

    it('answers authenticate before sending any notification', async () => {
      const show = newId();
      const publisher = await join(show, 'publisher');
      const send = await publisher.request('createWebRtcTransport', { direction: 'send' });
      const { producerId } = await publisher.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: vp8SendParameters });

      const viewer = await connect(sfu.wsUrl(show));
      await viewer.request('authenticate', { token: await tokenFor(show, 'viewer') });
      expect(await viewer.nextNotification('newProducer')).toMatchObject({ producerId });
      expect(viewer.frameLog).toEqual(['response:1', 'notification:newProducer']);
    });

    it('closes a departed publisher\u2019s producers for everyone', async () => {
      const show = newId();
      const publisher = await join(show, 'publisher');
      const viewer = await join(show, 'viewer');
      const send = await publisher.request('createWebRtcTransport', { direction: 'send' });
      const { producerId } = await publisher.request('produce', { transportId: send.transportId, kind: 'video', rtpParameters: vp8SendParameters });
      await viewer.nextNotification('newProducer');
      await publisher.close();
      expect(await viewer.nextNotification('producerClosed')).toEqual({ producerId });
    });
  });

  describe('room lifecycle', () => {
    it('closes a room only after its last peer has been gone for the grace period, and not if someone comes back', async () => {
      const show = newId();
      const first = await join(show, 'viewer');
      const room = sfu.server.rooms.get(show);
      expect(room).toBeDefined();
      const closedReason = once(room!, 'closed');

      await first.close();
      await new Promise((resolve) => setTimeout(resolve, EMPTY_ROOM_GRACE_MS / 2));
      // Back within the grace period: same room, kept open.
      const second = await join(show, 'viewer');
      expect(sfu.server.rooms.get(show)).toBe(room);
      await new Promise((resolve) => setTimeout(resolve, EMPTY_ROOM_GRACE_MS));
      expect(room!.closed).toBe(false);

      const leftAt = Date.now();
      await second.close();
      expect(await closedReason).toEqual(['idle']);
      expect(Date.now() - leftAt).toBeGreaterThanOrEqual(EMPTY_ROOM_GRACE_MS - 20);
      expect(sfu.server.rooms.get(show)).toBeUndefined();
    });

    it('ends a show: only its publisher or a moderator may; viewers are told and disconnected; nobody gets back in', async () => {
      const show = newId();
      const viewer = await join(show, 'viewer');
      const room = sfu.server.rooms.get(show)!;
      const endShow = async (token: string) =>
        (await fetch(`${sfu.server.url}/shows/${show}/end`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status;

      expect(await endShow(await tokenFor(show, 'viewer'))).toBe(403);
      expect(await endShow(await tokenFor(newId(), 'publisher'))).toBe(403);
      expect(await endShow(await tokenFor(show, 'publisher', { secret: `${TEST_TOKEN_SECRET}-forged` }))).toBe(401);
      expect(room.closed).toBe(false);

      expect(await endShow(await tokenFor(show, 'publisher'))).toBe(204);
      expect(await viewer.nextNotification('roomClosed')).toEqual({ reason: 'show_ended' });
      expect(await viewer.closed).toEqual({ code: SignalingCloseCode.showEnded, reason: 'show_ended' });
      expect(room.closed).toBe(true);
      expect(sfu.server.rooms.get(show)).toBeUndefined();

      const latecomer = await connect(sfu.wsUrl(show, await tokenFor(show, 'viewer')));
      expect(await latecomer.closed).toEqual({ code: SignalingCloseCode.showEnded, reason: 'show_ended' });
      expect(sfu.server.rooms.get(show)).toBeUndefined();
      // Ending it again changes nothing.
      expect(await endShow(await tokenFor(show, 'moderator'))).toBe(204);
    });

    it('closes a room once, however many times it is asked to', async () => {
      const show = newId();
      await join(show, 'viewer');
      const room = sfu.server.rooms.get(show)!;
      const reasons: string[] = [];
      room.on('closed', (reason) => reasons.push(reason));
      room.close('shutdown');
      room.close('shutdown');
      room.close('show_ended');
      expect(reasons).toEqual(['shutdown']);
      expect(room.closed).toBe(true);
    });

    it('gives two peers admitted at the same moment the same room', async () => {
      const show = newId();
      const [a, b] = await Promise.all([join(show, 'viewer'), join(show, 'viewer')]);
      await Promise.all([a.request('getRouterRtpCapabilities', {}), b.request('getRouterRtpCapabilities', {})]);
      expect(sfu.server.rooms.get(show)?.peerCount).toBe(2);
    });
  });

  describe('HTTP', () => {
    it('reports health', async () => {
      const response = await fetch(`${sfu.server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', workers: 1 });
    });

    it('answers unknown paths with a problem document', async () => {
      const response = await fetch(`${sfu.server.url}/nope`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    });
  });

  describe('shutdown', () => {
    it('tells peers the sfu is going away, closes their sockets, and leaves no worker process', async () => {
      const own = await startSfu();
      const show = newId();
      const viewer = await SignalingTestClient.connect(own.wsUrl(show, await tokenFor(show, 'viewer')));
      await viewer.request('createWebRtcTransport', { direction: 'recv' });
      const pids = own.pool.loads().map((load) => load.pid);

      await Promise.all([own.close(), own.close()]);

      expect(await viewer.nextNotification('roomClosed')).toEqual({ reason: 'shutdown' });
      expect(await viewer.closed).toEqual({ code: SignalingCloseCode.goingAway, reason: 'shutdown' });
      for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
      await expect(fetch(`${own.server.url}/healthz`)).rejects.toThrow();
    });
  });
});
