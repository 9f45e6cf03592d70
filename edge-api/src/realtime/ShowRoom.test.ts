import { DatabaseSync } from 'node:sqlite';
import { issueToken, newId, type Pin, RoomCloseCode, type RoomEventOf, RoomServerEvent, type ShowStatus } from '@mytaek1/contracts';
import { describe, expect, it } from 'vitest';
import { type SqlExec, SqlRoomStore } from './room-store.ts';
import { type RoomSocket, type RoomTimers, type SocketState, ShowRoom } from './ShowRoom.ts';

// The room's logic on its own, with a clock, timers and sockets the test drives: what the transport
// suites cannot pin down to the millisecond (backpressure thresholds, flash-deal alarms, the hello
// deadline) and what a Durable Object's hibernation means (a new ShowRoom over the same storage).

const SECRET = 'a-room-unit-test-secret-long-enough-to-use';

class FakeClock implements RoomTimers {
  now = Date.parse('2026-11-24T12:00:00Z');
  #timers: { at: number; callback: () => void; id: number }[] = [];
  #nextId = 1;

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.push({ at: this.now + ms, callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = due.at;
      due.callback();
    }
    this.now = until;
  }
}

class FakeSocket implements RoomSocket {
  readonly sent: RoomServerEvent[] = [];
  buffered = 0;
  closedWith: { code: number; reason: string } | null = null;
  state: SocketState | null = null;

  send(text: string): void {
    this.sent.push(RoomServerEvent.parse(JSON.parse(text)));
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  remember(state: SocketState): void {
    this.state = state;
  }
  of<T extends RoomServerEvent['type']>(type: T): RoomEventOf<T>[] {
    return this.sent.filter((m): m is RoomEventOf<T> => m.type === type);
  }
}

const showId = newId();
const productId = newId();
const pin = (flashDeal: Pin['flashDeal'] = null): Pin => ({
  showId,
  productId,
  slot: 1,
  title: 'Scarf',
  imageUrls: [],
  price: { amount: 3000, currency: 'USD' },
  stock: 7,
  flashDeal,
  pinnedAt: '2026-11-24T11:00:00.000Z',
});

function setup({ store, show = { status: 'live' as ShowStatus, pins: [pin()] }, resumeWindow }: { store?: SqlRoomStore; show?: { status: ShowStatus; pins: Pin[] }; resumeWindow?: number } = {}) {
  const clock = new FakeClock();
  const wakes: (number | null)[] = [];
  const source = { show, loads: 0, gate: null as Promise<void> | null };
  const room = new ShowRoom({
    showId,
    secret: SECRET,
    source: {
      async load() {
        source.loads++;
        await source.gate;
        return structuredClone(source.show);
      },
    },
    ...(store ? { store } : {}),
    ...(resumeWindow ? { resumeWindow } : {}),
    now: () => clock.now,
    timers: clock,
    wakeAt: (when) => wakes.push(when),
    warn: () => {},
  });
  const join = async (claims: { sub?: string; role?: 'viewer' | 'moderator'; name?: string } = {}, hello: { lastSeq?: number; epoch?: string } = {}) => {
    const socket = new FakeSocket();
    room.open(socket);
    const token = await issueToken({ aud: 'realtime', sub: claims.sub ?? newId(), show: showId, role: claims.role ?? 'viewer', name: claims.name ?? 'Someone' }, SECRET, { ttlSeconds: 60, now: clock.now });
    await room.receive(socket, JSON.stringify({ type: 'hello', token, ...hello }));
    return socket;
  };
  return { clock, room, source, wakes, join };
}

describe('ShowRoom', () => {
  it('stops sending to a socket whose buffer is over the high-water mark; once drained it catches up from the recent events', async () => {
    const { room, clock, join } = setup();
    const slow = await join();
    const fast = await join();
    slow.buffered = 600 * 1024;
    for (let stock = 6; stock >= 0; stock--) await room.publish({ type: 'stock', productId, stock });
    expect(fast.of('stock').map((e) => e.stock)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(slow.of('stock')).toEqual([]);
    expect(room.stalledCount()).toBe(1);
    clock.advance(500);
    expect(slow.of('stock')).toEqual([]);
    slow.buffered = 1000;
    clock.advance(100);
    // Every missed event, in order, once: no snapshot needed.
    expect(slow.of('stock').map((e) => e.stock)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(slow.of('resync')).toEqual([]);
    await room.publish({ type: 'stock', productId, stock: 3 });
    expect(slow.of('stock').map((e) => [e.stock, e.seq])).toEqual(fast.of('stock').map((e) => [e.stock, e.seq]));
  });

  it('gives a socket that fell behind further than the recent events a resync and a snapshot instead of the backlog', async () => {
    const { room, clock, join } = setup({ resumeWindow: 16 });
    const slow = await join();
    slow.buffered = 600 * 1024;
    for (let i = 0; i < 40; i++) await room.publish({ type: 'stock', productId, stock: i % 2 ? 5 : 6 });
    slow.buffered = 0;
    clock.advance(100);
    expect(slow.sent.slice(-2).map((m) => m.type)).toEqual(['resync', 'snapshot']);
    expect(slow.of('snapshot').at(-1)).toMatchObject({ seq: room.seq, stock: { [productId]: 5 } });
    expect(slow.of('stock')).toEqual([]);
    await room.publish({ type: 'stock', productId, stock: 1 });
    expect(slow.of('stock').map((e) => e.seq)).toEqual([room.seq]);
  });

  it('drops a socket that stays stalled past the limit', async () => {
    const { room, clock, join } = setup();
    const stuck = await join();
    stuck.buffered = 10 * 1024 * 1024;
    await room.publish({ type: 'stock', productId, stock: 1 });
    clock.advance(15_000);
    expect(stuck.closedWith).toEqual({ code: RoomCloseCode.slowConsumer, reason: 'slow_consumer' });
    expect(room.viewerCount()).toBe(0);
  });

  it('closes a socket that does not say hello within 10 s', () => {
    const { room, clock } = setup();
    const silent = new FakeSocket();
    room.open(silent);
    clock.advance(9_999);
    expect(silent.closedWith).toBeNull();
    clock.advance(1);
    expect(silent.of('error')[0]!.code).toBe('hello_required');
    expect(silent.closedWith?.code).toBe(RoomCloseCode.helloTimeout);
  });

  it('starts and ends flash deals on time, asking the transport to wake it at each boundary', async () => {
    const { room, clock, wakes, source, join } = setup();
    const viewer = await join();
    const startsAt = clock.now + 5_000;
    const endsAt = clock.now + 65_000;
    source.show = { status: 'live', pins: [pin({ price: { amount: 1500, currency: 'USD' }, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString() })] };
    await room.publish({ type: 'refresh' });
    expect(viewer.of('pin')).toHaveLength(1);
    expect(wakes.at(-1)).toBe(startsAt);
    clock.advance(5_000);
    room.wake();
    expect(viewer.of('flashDealStart')).toEqual([expect.objectContaining({ productId, deal: expect.objectContaining({ price: { amount: 1500, currency: 'USD' } }) })]);
    expect(wakes.at(-1)).toBe(endsAt);
    room.wake();
    expect(viewer.of('flashDealStart')).toHaveLength(1);
    clock.advance(60_000);
    room.wake();
    expect(viewer.of('flashDealEnd')).toEqual([expect.objectContaining({ productId })]);
    expect(wakes.at(-1)).toBeNull();
  });

  it('keeps a stock event that arrives while the show is being reloaded', async () => {
    const { room, source, join } = setup();
    const viewer = await join();
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const reload = room.publish({ type: 'refresh' });
    await room.publish({ type: 'stock', productId, stock: 2 });
    open();
    await reload;
    expect(viewer.of('stock').map((e) => e.stock)).toEqual([2]);
    const late = await join();
    expect(late.of('snapshot')[0]).toMatchObject({ stock: { [productId]: 2 } });
    expect(late.of('snapshot')[0]!.pins[0]!.stock).toBe(2);
  });

  it('loses nothing across a Durable Object’s hibernation: a new room over the same storage and attachments', async () => {
    const db = new DatabaseSync(':memory:');
    const sql: SqlExec = {
      exec: (query, ...bindings) => {
        const statement = db.prepare(query);
        if (/^\s*select/i.test(query)) return statement.all(...bindings) as Record<string, unknown>[];
        statement.run(...bindings);
        return [];
      },
    };
    const before = setup({ store: new SqlRoomStore(sql) });
    const host = await before.join({ role: 'moderator', name: 'Host' });
    const fanId = newId();
    const fan = await before.join({ sub: fanId, name: 'Fan' });
    for (const text of ['one', 'two', 'three']) await before.room.receive(fan, JSON.stringify({ type: 'chat', text }));
    await before.room.receive(host, JSON.stringify({ type: 'moderation', action: 'mute', userId: fanId, seconds: 600 }));
    await before.room.publish({ type: 'stock', productId, stock: 4 });
    const lastSeenByFan = Math.max(...fan.sent.filter((m) => m.type === 'chat').map((m) => m.seq));
    const seq = before.room.seq;
    const epoch = before.room.epoch;

    // The runtime evicted the object; a new instance is built over the same SQLite storage, and the
    // sockets it still holds come back with their attachments.
    const after = setup({ store: new SqlRoomStore(sql) });
    after.room.restore(host, host.state!);
    after.room.restore(fan, fan.state!);
    expect([after.room.seq, after.room.epoch, after.room.viewerCount()]).toEqual([seq, epoch, 2]);
    expect(after.source.loads).toBe(0);
    expect(after.room.chatLog().map((m) => m.text)).toEqual(['one', 'two', 'three']);
    await after.room.receive(fan, JSON.stringify({ type: 'chat', text: 'still muted?' }));
    expect(fan.of('error').at(-1)!.code).toBe('muted');
    await after.room.receive(host, JSON.stringify({ type: 'chat', text: 'after the nap' }));
    expect(fan.of('chat').at(-1)!.message).toMatchObject({ text: 'after the nap', seq: seq + 1 });

    const phone = await after.join({ sub: fanId, name: 'Fan' }, { lastSeq: lastSeenByFan, epoch });
    expect(phone.of('welcome')[0]!.mode).toBe('resume');
    // After the fan's last chat: the mute (moderators only, skipped), the stock, the host's message.
    expect(phone.sent.slice(1).map((m) => [m.type, m.seq])).toEqual([
      ['stock', seq],
      ['chat', seq + 1],
    ]);
    const fresh = await after.join();
    expect(fresh.of('snapshot')[0]).toMatchObject({ stock: { [productId]: 4 }, status: 'live' });
    expect(fresh.of('snapshot')[0]!.chat.map((m) => m.text)).toEqual(['one', 'two', 'three', 'after the nap']);
    db.close();
  });
});
