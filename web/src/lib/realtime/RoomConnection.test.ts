/**
 * RoomConnection against the real thing: the edge API in this process (PGlite, its Node room hub on
 * a loopback port), Node's own WebSocket (the browser's API), tokens from the realtime-token route.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Pin, REALTIME_LIMITS, RoomServerEvent, Session } from '@mytaek1/contracts';
import { createApiClient } from '@mytaek1/edge-api/client';
import { loadNodeConfig, startEdgeApi } from '@mytaek1/edge-api/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Backoff } from '../media/backoff.ts';
import { pollingPinSource } from '../commerce/pin-source.ts';
import { realtimeGrantFetcher } from './grants.ts';
import { type RoomConnectionEvents, RoomConnection, type RoomState } from './RoomConnection.ts';
import { roomPinSource } from './room-pin-source.ts';
import { realtimePublicUrl } from './roomUrl.ts';

let edgeApi: Awaited<ReturnType<typeof startEdgeApi>>;
let dataDir: string;
const rooms: RoomConnection[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'mytaek1-room-client-'));
  edgeApi = await startEdgeApi(loadNodeConfig({ DATA_DIR: dataDir, EDGE_API_PORT: '0', SEED_DEMO_DATA: 'false' }));
});

afterEach(() => {
  for (const room of rooms.splice(0)) room.close();
});

afterAll(async () => {
  await edgeApi?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${edgeApi.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function signUp(role: 'seller' | 'shopper', displayName: string): Promise<{ id: string; token: string }> {
  const session = Session.parse(await api('POST', '/v1/auth/signup', { email: `${role}-${crypto.randomUUID()}@room-client.test`, password: 'a long enough password', displayName, role }));
  return { id: session.user.id, token: session.token };
}

/** A live show with one pinned product (`stock` units) and its seller. */
async function stageShow(stock = 10): Promise<{ showId: string; productId: string; seller: { id: string; token: string } }> {
  const seller = await signUp('seller', 'Studio Sol');
  const product = await api('POST', '/v1/products', { title: 'Linen shirt', price: { amount: 4200, currency: 'USD' }, stock }, seller.token);
  const show = await api('POST', '/v1/shows', { title: 'Summer live', scheduledAt: new Date().toISOString() }, seller.token);
  await api('POST', `/v1/shows/${show.id as string}/live`, undefined, seller.token);
  await api('PUT', `/v1/shows/${show.id as string}/pins/${product.id as string}`, {}, seller.token);
  return { showId: show.id as string, productId: product.id as string, seller };
}

/** What a test sees of a connection's sockets: every frame received, and a way to cut the line. */
interface SocketTap {
  frames: RoomServerEvent[];
  sockets: WebSocket[];
}

/** Node's WebSocket, recording each socket and the frames it receives. */
function tappedWebSocket(tap: SocketTap): typeof WebSocket {
  return class TappedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      tap.sockets.push(this);
      this.addEventListener('message', (event) => tap.frames.push(RoomServerEvent.parse(JSON.parse(String(event.data)))));
    }
  };
}

/** Joins `showId`'s room as the holder of `token` (a session token), or anonymously. */
function enter(showId: string, token?: string): { room: RoomConnection; tap: SocketTap } {
  const tap: SocketTap = { frames: [], sockets: [] };
  const client = createApiClient(edgeApi.url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const room = RoomConnection.create({
    showId,
    url: realtimePublicUrl(undefined, edgeApi.url, new URL('http://127.0.0.1/')),
    fetchGrant: realtimeGrantFetcher(client),
    WebSocket: tappedWebSocket(tap),
    // Quick retries: the tests cut connections on purpose.
    backoff: new Backoff({ baseMs: 20, maxMs: 200 }),
    warn: () => {},
  });
  rooms.push(room);
  return { room, tap };
}

/** Resolves with the first state that satisfies `predicate` (now or later). */
function until(room: RoomConnection, predicate: (state: RoomState) => boolean, what: string): Promise<RoomState> {
  return new Promise((resolve, reject) => {
    let stop: (() => void) | undefined;
    const timer = setTimeout(() => {
      stop?.();
      reject(new Error(`the room never reached: ${what}; last state ${JSON.stringify({ ...room.state, chat: room.state.chat.map((m) => m.text) })}`));
    }, 10_000);
    stop = room.subscribe((state) => {
      if (!predicate(state)) return;
      clearTimeout(timer);
      queueMicrotask(() => stop?.());
      resolve(state);
    });
  });
}

/** The next `event` the connection announces. */
function next<K extends keyof RoomConnectionEvents>(room: RoomConnection, event: K, match: (payload: RoomConnectionEvents[K]) => boolean = () => true): Promise<RoomConnectionEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${event} event`));
    }, 10_000);
    const stop = room.on(event, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      stop();
      resolve(payload);
    });
  });
}

const inRoom = (state: RoomState) => state.phase === 'live' && state.synced;

describe('RoomConnection', () => {
  it('joins with a snapshot, and two viewers see each other’s chat and hearts, and the viewer count', async () => {
    const { showId, productId, seller } = await stageShow();
    const ana = await signUp('shopper', 'Ana');
    const ben = await signUp('shopper', 'Ben');
    const { room: anaRoom } = enter(showId, ana.token);
    const { room: benRoom } = enter(showId, ben.token);
    const joined = await until(anaRoom, inRoom, 'in the room');
    expect(joined.you).toEqual({ userId: ana.id, name: 'Ana', role: 'viewer', canChat: true, anonymous: false });
    expect(joined.showStatus).toBe('live');
    expect(joined.pins.map((p) => [p.productId, p.stock])).toEqual([[productId, 10]]);
    await until(benRoom, inRoom, 'in the room');
    await until(anaRoom, (s) => s.viewers === 2, 'two viewers');

    expect(anaRoom.sendChat('  hello from Ana  ')).toBeNull();
    const seen = await until(benRoom, (s) => s.chat.length === 1, 'Ana’s message');
    expect(seen.chat[0]).toMatchObject({ userId: ana.id, name: 'Ana', text: 'hello from Ana' });
    expect(Date.parse(seen.chat[0]!.at)).not.toBeNaN();
    await until(anaRoom, (s) => s.chat.length === 1, 'her own message back');

    // Three taps, batched into one heart message; Ben's page floats them as others' hearts, Ana's does not float them twice.
    const benHearts = next(benRoom, 'hearts');
    const anaHearts = next(anaRoom, 'hearts');
    for (let i = 0; i < 3; i++) expect(anaRoom.tapHeart()).toBe(true);
    expect(await benHearts).toEqual({ count: 3, others: 3, total: 3 });
    expect(await anaHearts).toEqual({ count: 3, others: 0, total: 3 });
    expect(benRoom.state.hearts).toBe(3);

    // A viewer leaving is counted.
    benRoom.close();
    await until(anaRoom, (s) => s.viewers === 1, 'one viewer');
    expect(benRoom.state).toMatchObject({ phase: 'closed', closedReason: 'closed' });
    void seller;
  });

  it('refuses what the contract refuses before sending, and lets anonymous viewers read but not chat or send hearts', async () => {
    const { showId } = await stageShow();
    const { room: guest } = enter(showId);
    const state = await until(guest, inRoom, 'in the room');
    expect(state.you).toMatchObject({ anonymous: true, canChat: false, role: 'viewer' });
    expect(guest.sendChat('hi')?.code).toBe('login_required');
    expect(guest.tapHeart()).toBe(false);

    const ana = await signUp('shopper', 'Ana');
    const { room } = enter(showId, ana.token);
    await until(room, inRoom, 'in the room');
    expect(room.sendChat('   ')?.code).toBe('chat_empty');
    expect(room.sendChat('x'.repeat(REALTIME_LIMITS.chatMaxLength + 1))?.code).toBe('chat_too_long');
    expect(room.sendChat('x'.repeat(REALTIME_LIMITS.chatMaxLength))).toBeNull();
    await until(guest, (s) => s.chat.length === 1, 'the guest reads the message');
    // Moderation is for moderators: nothing is sent.
    expect(room.deleteMessage(guest.state.chat[0]!.id)).toBe(false);
  });

  it('says when chat is rate limited, with when to try again', async () => {
    const { showId } = await stageShow();
    const ana = await signUp('shopper', 'Ana');
    const { room } = enter(showId, ana.token);
    await until(room, inRoom, 'in the room');
    const refused = next(room, 'error');
    for (let i = 0; i <= REALTIME_LIMITS.chatPerWindow; i++) expect(room.sendChat(`message ${i}`)).toBeNull();
    const error = await refused;
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterMs).toBeGreaterThan(0);
    const state = await until(room, (s) => s.chat.length === REALTIME_LIMITS.chatPerWindow, 'the accepted messages');
    expect(state.chat.map((m) => m.text)).toEqual(Array.from({ length: REALTIME_LIMITS.chatPerWindow }, (_, i) => `message ${i}`));
  });

  it('gives the seller moderation: a deleted message disappears for everyone, a muted shopper is told until when, a banned one is out for good', async () => {
    const { showId, seller } = await stageShow();
    const ana = await signUp('shopper', 'Ana');
    const { room: studio } = enter(showId, seller.token);
    const { room: anaRoom } = enter(showId, ana.token);
    expect((await until(studio, inRoom, 'in the room')).you).toMatchObject({ role: 'moderator', userId: seller.id });
    await until(anaRoom, inRoom, 'in the room');

    anaRoom.sendChat('buy my stuff elsewhere');
    anaRoom.sendChat('love the linen');
    const [spam] = (await until(studio, (s) => s.chat.length === 2, 'both messages')).chat;
    await until(anaRoom, (s) => s.chat.length === 2, 'both messages');
    expect(studio.deleteMessage(spam!.id)).toBe(true);
    const afterDelete = await until(anaRoom, (s) => s.chat.length === 1, 'the deleted message gone');
    expect(afterDelete.chat.map((m) => m.text)).toEqual(['love the linen']);
    const log = await until(studio, (s) => s.moderation.length === 1, 'the moderation log');
    expect(log.moderation[0]).toMatchObject({ action: 'delete', messageId: spam!.id, by: seller.id, byName: 'Studio Sol' });
    // Viewers never see the moderation log.
    expect(anaRoom.state.moderation).toEqual([]);

    const muted = next(anaRoom, 'error');
    expect(studio.mute(ana.id, 60)).toBe(true);
    expect(await muted).toMatchObject({ code: 'muted', retryAfterMs: 60_000 });
    const mutedState = await until(anaRoom, (s) => s.mutedUntil !== null, 'muted');
    expect(mutedState.you?.canChat).toBe(false);
    expect(mutedState.mutedUntil! - Date.now()).toBeGreaterThan(50_000);
    expect(anaRoom.sendChat('can I talk?')?.code).toBe('muted');
    expect((await until(studio, (s) => s.moderation.length === 2, 'the mute logged')).moderation[1]).toMatchObject({ action: 'mute', userId: ana.id, seconds: 60 });

    const banned = next(anaRoom, 'error', (e) => e.code === 'banned');
    expect(studio.ban(ana.id)).toBe(true);
    await banned;
    const out = await until(anaRoom, (s) => s.phase === 'closed', 'closed');
    expect(out.closedReason).toBe('banned');
    expect(out.you?.canChat).toBe(false);
    await until(studio, (s) => s.viewers === 1, 'the banned viewer gone');
    // Banned is for good: no reconnection happens, and a fresh connection is refused too.
    const { room: again } = enter(showId, ana.token);
    expect((await until(again, (s) => s.phase === 'closed', 'refused')).closedReason).toBe('banned');
  });

  it('sees stock tick down the moment someone buys, and pins and flash deals as the seller changes them', async () => {
    const { showId, productId, seller } = await stageShow(5);
    const buyer = await signUp('shopper', 'Buyer');
    const { room } = enter(showId, buyer.token);
    await until(room, inRoom, 'in the room');
    const delivered: Pin[][] = [];
    const stop = roomPinSource(room).subscribe((pins) => delivered.push(pins));

    await api('POST', '/v1/checkout', { showId, productId }, buyer.token, { 'idempotency-key': crypto.randomUUID() });
    await until(room, (s) => s.pins[0]?.stock === 4, 'stock 4');
    expect(delivered.at(-1)!.map((p) => p.stock)).toEqual([4]);

    const second = await api('POST', '/v1/products', { title: 'Straw hat', price: { amount: 1800, currency: 'USD' }, stock: 3 }, seller.token);
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    await api('PUT', `/v1/shows/${showId}/pins/${second.id as string}`, { flashDeal: { price: { amount: 900, currency: 'USD' }, startsAt, endsAt } }, seller.token);
    const pinned = await until(room, (s) => s.pins.length === 2, 'the second pin');
    expect(pinned.pins.map((p) => [p.title, p.slot])).toEqual([
      ['Linen shirt', 1],
      ['Straw hat', 2],
    ]);
    expect(pinned.pins[1]!.flashDeal?.price.amount).toBe(900);

    await api('DELETE', `/v1/shows/${showId}/pins/${productId}`, undefined, seller.token);
    await until(room, (s) => s.pins.length === 1, 'unpinned');
    expect(delivered.at(-1)!.map((p) => p.title)).toEqual(['Straw hat']);
    stop();
  });

  it('gives the seller each paid order as it is paid, and a shopper none', async () => {
    const { showId, productId, seller } = await stageShow(5);
    const buyer = await signUp('shopper', 'Buyer');
    const { room: sellerRoom } = enter(showId, seller.token);
    const { room: shopperRoom, tap: shopperTap } = enter(showId, buyer.token);
    await until(sellerRoom, inRoom, 'the seller in the room');
    await until(shopperRoom, inRoom, 'the shopper in the room');

    const checkout = await api('POST', '/v1/checkout', { showId, productId, quantity: 2 }, buyer.token, { 'idempotency-key': crypto.randomUUID() });
    const order = checkout.order as { id: string };
    const payment = checkout.payment as { intentId: string; clientSecret: string };
    // Not paid yet: not an order in the seller's feed.
    await until(shopperRoom, (s) => s.pins[0]?.stock === 3, 'stock 3');
    expect(sellerRoom.state.orders).toEqual([]);
    await api('POST', `/v1/sandbox/payment-intents/${payment.intentId}/confirm`, { clientSecret: payment.clientSecret, cardNumber: '4242 4242 4242 4242' });
    const paid = await until(sellerRoom, (s) => s.orders.length === 1, 'the paid order in the seller’s feed');
    expect(paid.orders[0]).toMatchObject({ orderId: order.id, productId, quantity: 2, status: 'paid' });
    expect(paid.orders[0]!.receivedAt).toBeGreaterThan(0);

    // The seller refunds it: the same entry changes status, in place.
    await api('POST', `/v1/orders/${order.id}/refund`, undefined, seller.token);
    const refunded = await until(sellerRoom, (s) => s.orders[0]?.status === 'refunded', 'the refund');
    expect(refunded.orders).toHaveLength(1);
    await until(shopperRoom, (s) => s.pins[0]?.stock === 5, 'the refunded units back on sale');
    expect(shopperRoom.state.orders).toEqual([]);
    expect(shopperTap.frames.filter((frame) => frame.type === 'order')).toEqual([]);
  });

  it('resumes after a dropped connection from where it was, with nothing missed and nothing twice', async () => {
    const { showId } = await stageShow();
    const ana = await signUp('shopper', 'Ana');
    const ben = await signUp('shopper', 'Ben');
    const { room: anaRoom, tap } = enter(showId, ana.token);
    const { room: benRoom } = enter(showId, ben.token);
    await until(anaRoom, inRoom, 'in the room');
    await until(benRoom, inRoom, 'in the room');
    benRoom.sendChat('before the drop');
    await until(anaRoom, (s) => s.chat.length === 1, 'the first message');

    // The line drops (not a close() of the connection): it reconnects by itself.
    const reconnecting = until(anaRoom, (s) => s.phase === 'reconnecting', 'reconnecting');
    tap.sockets[0]!.close();
    await reconnecting;
    benRoom.sendChat('while Ana was away');
    await until(anaRoom, (s) => s.phase === 'live' && s.chat.length === 2, 'back, with the missed message');
    expect(anaRoom.state.chat.map((m) => m.text)).toEqual(['before the drop', 'while Ana was away']);
    expect(tap.sockets).toHaveLength(2);
    const welcomes = tap.frames.filter((f) => f.type === 'welcome');
    expect(welcomes.map((w) => w.mode)).toEqual(['snapshot', 'resume']);
    expect(tap.frames.filter((f) => f.type === 'snapshot')).toHaveLength(1);

    benRoom.sendChat('after');
    await until(anaRoom, (s) => s.chat.length === 3, 'live again');
  });

  it('hears the show end, and a show that has ended cannot be joined', async () => {
    const { showId, seller } = await stageShow();
    const ana = await signUp('shopper', 'Ana');
    const { room } = enter(showId, ana.token);
    await until(room, inRoom, 'in the room');
    const ended = next(room, 'status');
    await api('POST', `/v1/shows/${showId}/end`, undefined, seller.token);
    expect(await ended).toBe('ended');
    expect(room.state.you?.canChat).toBe(false);
    expect(room.sendChat('still here?')?.code).toBe('show_ended');

    const { room: late } = enter(showId, ana.token);
    expect((await until(late, (s) => s.phase === 'closed', 'refused')).closedReason).toBe('ended');
  });

  it('gives up on a host that takes the connection and never answers, and tries again', async () => {
    const { showId } = await stageShow();
    // A TCP server that accepts and says nothing: no WebSocket handshake, no close.
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const tap: SocketTap = { frames: [], sockets: [] };
    const room = RoomConnection.create({
      showId,
      url: `ws://127.0.0.1:${port}`,
      fetchGrant: realtimeGrantFetcher(createApiClient(edgeApi.url)),
      WebSocket: tappedWebSocket(tap),
      backoff: new Backoff({ baseMs: 20, maxMs: 40 }),
      joinTimeoutMs: 100,
      warn: () => {},
    });
    rooms.push(room);
    try {
      await expect.poll(() => tap.sockets.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      // Each abandoned socket was closed by this side, not left open beside the next one.
      expect(tap.sockets.slice(0, -1).every((socket) => socket.readyState >= WebSocket.CLOSING)).toBe(true);
      expect(room.state.phase).toBe('connecting');
    } finally {
      room.close();
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('falls back to polling for pins while the room cannot be reached', async () => {
    const { showId, productId } = await stageShow(7);
    // A room URL nobody listens on: the connection keeps retrying, the polling source delivers.
    const room = RoomConnection.create({
      showId,
      url: 'ws://127.0.0.1:9',
      fetchGrant: realtimeGrantFetcher(createApiClient(edgeApi.url)),
      backoff: new Backoff({ baseMs: 50, maxMs: 200 }),
      warn: () => {},
    });
    rooms.push(room);
    const fetchPins = async () => ((await api('GET', `/v1/shows/${showId}/pins`)) as { pins: Pin[] }).pins;
    const visibility = { visible: () => true, onChange: () => () => {} };
    const delivered = await new Promise<Pin[]>((resolve) => {
      const stop = roomPinSource(room, pollingPinSource(fetchPins, { intervalMs: 50, visibility })).subscribe((pins) => {
        stop();
        resolve(pins);
      });
    });
    expect(delivered.map((p) => [p.productId, p.stock])).toEqual([[productId, 7]]);
    expect(room.state.phase).toBe('connecting');
  });
});
