/**
 * The show page's early socket (sfuPreconnect.ts) against a real sfu: the script as the server
 * renders it, run as a browser would run it (Node's WebSocket is the WHATWG one), then adopted by
 * the player's SignalingConnection and SfuSession.
 */
import '../../../../sfu/src/testing/workerBin.ts';
import { issueToken, newId, SfuStats, type RtpParameters, type SignalingNotification } from '@mytaek1/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSfu, type TestSfu } from '../../../../sfu/src/testing/startSfu.ts';
import { TEST_TOKEN_SECRET, tokenFor } from '../../../../sfu/src/testing/tokens.ts';
import { SfuSession, signalingUrl, type SessionMedia } from './SfuSession.ts';
import { SFU_PRECONNECT_GLOBAL, sfuPreconnectScript, takeSfuPreconnection, viewerOpeningRequests, type SfuPreconnection } from './sfuPreconnect.ts';
import { SignalingClosedError, SignalingConnection, SignalingRequestError } from './SignalingConnection.ts';

/** An Opus send track's parameters, enough for the sfu to create a producer (no media needs to flow). */
const opusSendParameters: RtpParameters = {
  mid: '0',
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }],
  headerExtensions: [],
  encodings: [{ ssrc: 11111111 }],
  rtcp: { cname: 'preconnect-test' },
};

/** Runs the server-rendered <script> element the way the browser runs it, with `window` standing in as the page's global. */
function runScript(element: string, window: Record<string, unknown>): void {
  const match = /^<script>([\s\S]*)<\/script>$/.exec(element);
  if (!match) throw new Error(`not one script element: ${element.slice(0, 80)}`);
  new Function('window', match[1]!)(window);
}

/** The page's script for a viewer of the show at `url` with `token`, run in a page of its own: that page's global and the script's slot. */
function runAhead(url: string, token: string, options: { unclaimedMs?: number } = {}): { window: Record<string, unknown>; slot: SfuPreconnection } {
  const window: Record<string, unknown> = {};
  runScript(sfuPreconnectScript(url, viewerOpeningRequests(token), options), window);
  return { window, slot: (window[SFU_PRECONNECT_GLOBAL] as Record<string, SfuPreconnection>)[url]! };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the show page opening the sfu socket ahead of its code', () => {
  let sfu: TestSfu;
  const opened: SignalingConnection[] = [];

  beforeAll(async () => {
    sfu = await startSfu({ emptyRoomGraceMs: 200 });
  });
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.close();
  });
  afterAll(async () => {
    await sfu?.close();
  });

  const showUrl = (show: string) => signalingUrl(sfu.server.url, show);

  it('sends the opening requests at once; the player finds their answers and does not send them again', async () => {
    const show = newId();
    const url = showUrl(show);
    const token = await tokenFor(show, 'viewer');
    const { window, slot } = runAhead(url, token);
    // The three answers arrive before any of the player's code runs.
    await until(() => slot.frames.length >= 3, 'the answers to the three requests sent ahead');

    const connection = await SignalingConnection.adopt(takeSfuPreconnection(url, window)!);
    opened.push(connection);
    expect(takeSfuPreconnection(url, window)).toBeUndefined();
    const admitted = await connection.request('authenticate', { token });
    expect(admitted).toMatchObject({ show, role: 'viewer' });
    const [capabilities, transport] = await Promise.all([
      connection.request('getRouterRtpCapabilities', {}),
      connection.request('createWebRtcTransport', { direction: 'recv' }),
    ]);
    expect(capabilities.rtpCapabilities.codecs?.map((codec) => codec.mimeType)).toContain('video/VP8');
    expect(transport.transportId).toMatch(/\S/);
    // Had the player's authenticate gone to the sfu, it would have been this refusal: once is the protocol.
    await expect(connection.request('authenticate', { token })).rejects.toMatchObject({ code: 'bad_request' });
    const stats = SfuStats.parse(await (await fetch(`${sfu.server.url}/stats`)).json()).shows.find((entry) => entry.show === show);
    expect(stats).toMatchObject({ publishers: 0, viewers: 1 });
  });

  it('a request made before the sfu answered it gets the answer still to come, and a socket still connecting sends on opening', async () => {
    const show = newId();
    const url = showUrl(show);
    const token = await tokenFor(show, 'viewer');
    const { window } = runAhead(url, token);
    const preconnection = takeSfuPreconnection(url, window)!;
    expect(preconnection.socket.readyState).toBe(WebSocket.CONNECTING);
    const connection = await SignalingConnection.adopt(preconnection);
    opened.push(connection);
    const [admitted, transport] = await Promise.all([
      connection.request('authenticate', { token }),
      connection.request('createWebRtcTransport', { direction: 'recv' }),
    ]);
    expect(admitted.role).toBe('viewer');
    expect(transport.transportId).toMatch(/\S/);
  });

  it('notifications the sfu sent before the player took the socket reach the player, in order, once it listens', async () => {
    const show = newId();
    const url = showUrl(show);
    const publisher = await SignalingConnection.open(url);
    opened.push(publisher);
    await publisher.request('authenticate', { token: await tokenFor(show, 'publisher') });
    const send = await publisher.request('createWebRtcTransport', { direction: 'send' });
    const { producerId } = await publisher.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: opusSendParameters });

    const token = await tokenFor(show, 'viewer');
    const { window, slot } = runAhead(url, token);
    // Three answers and the notification of the producer already there.
    await until(() => slot.frames.length >= 4, 'the answers and the newProducer notification');

    const connection = await SignalingConnection.adopt(takeSfuPreconnection(url, window)!);
    opened.push(connection);
    // Nothing is delivered before the player says it listens (it sets onNotification before its first request).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const notifications: SignalingNotification[] = [];
    connection.onNotification = (notification) => notifications.push(notification);
    await connection.request('authenticate', { token });
    expect(notifications).toEqual([expect.objectContaining({ method: 'newProducer', data: expect.objectContaining({ producerId, kind: 'audio' }) })]);
  });

  it('a socket the sfu refused before the player took it is the first connection’s answer: the session is refused, and opens no other socket', async () => {
    const show = newId();
    const url = showUrl(show);
    const forged = await issueToken({ aud: 'sfu', sub: 'anon:forger', show, role: 'viewer' }, `${TEST_TOKEN_SECRET}-not`, { ttlSeconds: 120 });
    const { window, slot } = runAhead(url, forged);
    await until(() => slot.closed !== undefined, 'the sfu closing the socket');

    // Adopted, it fails the way a fresh socket's authenticate would: with the sfu's close.
    const taken = takeSfuPreconnection(url, window)!;
    expect(taken.closed).toMatchObject({ reason: 'token_bad_signature' });
    await expect(SignalingConnection.adopt(taken)).rejects.toBeInstanceOf(SignalingClosedError);

    let sockets = 0;
    const media: SessionMedia = { setup: async () => {}, teardown: () => {}, onNotification: () => {} };
    // A second page with the same forged token: its session is refused without a socket of its own.
    const second = runAhead(url, forged);
    await until(() => second.slot.closed !== undefined, 'the second refusal');
    const NativeWebSocket = globalThis.WebSocket;
    globalThis.WebSocket = class extends NativeWebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets++;
      }
    };
    try {
      const session = new SfuSession({ sfuUrl: sfu.server.url, showId: show, getGrant: async () => ({ token: forged, role: 'viewer' }), media, takePreconnection: (at) => takeSfuPreconnection(at, second.window) });
      await session.start();
      expect(session.state).toMatchObject({ kind: 'refused' });
      expect(sockets).toBe(0);
    } finally {
      globalThis.WebSocket = NativeWebSocket;
    }
  });

  it('a session admitted with another token leaves the early socket and opens its own', async () => {
    const show = newId();
    const url = showUrl(show);
    const { window, slot: preconnection } = runAhead(url, await tokenFor(show, 'viewer'));
    const earlySocketClosed = new Promise((resolve) => preconnection.socket.addEventListener('close', resolve));
    const token = await tokenFor(show, 'viewer');
    let setups = 0;
    const session = new SfuSession({
      sfuUrl: sfu.server.url,
      showId: show,
      getGrant: async () => ({ token, role: 'viewer' }),
      media: {
        setup: async (connection) => {
          setups++;
          await connection.request('getRouterRtpCapabilities', {});
        },
        teardown: () => {},
        onNotification: () => {},
      },
      takePreconnection: (at) => takeSfuPreconnection(at, window),
    });
    void session.start();
    await until(() => session.state.kind === 'connected', 'the session connecting');
    expect(setups).toBe(1);
    await earlySocketClosed;
    await session.stop();
  });

  it('a socket the page’s code never takes closes by itself', async () => {
    const show = newId();
    const url = showUrl(show);
    const { window, slot } = runAhead(url, await tokenFor(show, 'viewer'), { unclaimedMs: 300 });
    await until(() => slot.socket.readyState === WebSocket.CLOSED, 'the unclaimed socket closing');
    expect(takeSfuPreconnection(url, window)).toBeUndefined();
  });

  it('the player’s requests are refused as usual when the early socket was admitted but the request differs', async () => {
    const show = newId();
    const url = showUrl(show);
    const token = await tokenFor(show, 'viewer');
    const { window } = runAhead(url, token);
    const connection = await SignalingConnection.adopt(takeSfuPreconnection(url, window)!);
    opened.push(connection);
    await connection.request('authenticate', { token });
    // Not the request sent ahead (a send transport): it goes to the sfu, which refuses a viewer one.
    await expect(connection.request('createWebRtcTransport', { direction: 'send' })).rejects.toBeInstanceOf(SignalingRequestError);
    // The one sent ahead is still there to be claimed.
    expect((await connection.request('createWebRtcTransport', { direction: 'recv' })).transportId).toMatch(/\S/);
  });
});
