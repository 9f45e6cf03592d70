import { RoomFeedEvent } from '@mytaek1/contracts';
import { type SqlExec, SqlRoomStore } from './room-store.ts';
import { type RoomSocket, type RoomSource, type SocketState, ShowRoom } from './ShowRoom.ts';

/**
 * The realtime room of one show on Cloudflare Workers: a Durable Object holding the show's
 * WebSockets through the hibernation API, so an idle room costs nothing while sockets stay open.
 * The room's logic is `ShowRoom`, the same as on Node; this class is its transport:
 *
 * - sockets are accepted with `ctx.acceptWebSocket` and their identity is kept in their attachment
 *   (`serializeAttachment`), so a room woken from hibernation knows who each socket is;
 * - the room's sequence, recent events, chat, pins, stock, mutes and bans live in the object's
 *   SQLite storage (SqlRoomStore), so hibernation or eviction loses nothing;
 * - flash-deal boundaries are storage alarms; the 250 ms heart and 1 s viewer windows are timers,
 *   which only run while the object is awake anyway.
 *
 * Written against the runtime's structural API (no `cloudflare:workers` import) so the same file
 * type-checks beside the Node code.
 */
export interface HibernatingWebSocket {
  send(message: string): void;
  close(code?: number, reason?: string): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
  readonly bufferedAmount?: number;
}

export interface DurableObjectContext {
  acceptWebSocket(socket: HibernatingWebSocket): void;
  getWebSockets(): HibernatingWebSocket[];
  storage: {
    sql: SqlExec;
    setAlarm(scheduledTime: number): Promise<void>;
    deleteAlarm(): Promise<void>;
  };
}

interface WebSocketPairConstructor {
  new (): { 0: HibernatingWebSocket; 1: HibernatingWebSocket };
}
declare const WebSocketPair: WebSocketPairConstructor;

export interface ShowRoomObjectOptions {
  /** Verifies realtime tokens. */
  secret: string;
  /** The show and its pins (the Worker's own app over its database). */
  source: RoomSource;
}

const ROOM_PATH = /^\/v1\/shows\/([0-9a-f-]{36})\/room$/;
const PUBLISH_PATH = /^\/([0-9a-f-]{36})\/publish$/;

export class ShowRoomObject {
  readonly #ctx: DurableObjectContext;
  readonly #options: ShowRoomObjectOptions;
  readonly #sockets = new WeakMap<HibernatingWebSocket, RoomSocket>();
  #store: SqlRoomStore | null = null;
  #room: ShowRoom | null = null;
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectContext, options: ShowRoomObjectOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // Reachable only from this Worker's own code (the router forwards WebSocket upgrades alone).
    const publish = request.method === 'POST' ? PUBLISH_PATH.exec(url.pathname) : null;
    if (publish) {
      const parsed = RoomFeedEvent.safeParse(await request.json().catch(() => null));
      if (!parsed.success) return Response.json({ error: 'not a room feed event' }, { status: 400 });
      await this.#roomFor(publish[1]!)!.publish(parsed.data);
      return new Response(null, { status: 204 });
    }
    const room = ROOM_PATH.exec(url.pathname);
    if (!room) return Response.json(this.#roomFor()?.describe() ?? { viewers: 0 });
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    const showRoom = this.#roomFor(room[1]!)!;
    const pair = new WebSocketPair();
    this.#ctx.acceptWebSocket(pair[1]);
    showRoom.open(this.#socket(pair[1]));
    // Status 101 with the client end, as the Workers runtime expects for an accepted upgrade.
    return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
  }

  async webSocketMessage(ws: HibernatingWebSocket, message: string | ArrayBuffer): Promise<void> {
    const room = this.#roomFor();
    if (!room) return ws.close(1011, 'room_unavailable');
    await room.receive(this.#socket(ws), typeof message === 'string' ? message : '');
  }

  webSocketClose(ws: HibernatingWebSocket, code: number): void {
    // 1005 and 1006 are reserved for "no status" and "abnormal": they may not be sent back.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      // already closed
    }
    this.#roomFor()?.leave(this.#socket(ws));
  }

  webSocketError(ws: HibernatingWebSocket): void {
    this.#roomFor()?.leave(this.#socket(ws));
  }

  /** A flash deal starts or ends. */
  alarm(): void {
    this.#alarmAt = null;
    this.#roomFor()?.wake();
  }

  /**
   * The room, built on first use after construction (a fresh object, or one woken from hibernation)
   * from storage, with every socket the runtime still holds for it.
   */
  #roomFor(showId?: string): ShowRoom | null {
    if (this.#room) return this.#room;
    this.#store ??= new SqlRoomStore(this.#ctx.storage.sql);
    const id = this.#store.load({ events: 0, chat: 0, moderation: 0 })?.meta.showId ?? showId;
    if (!id) return null;
    const room = new ShowRoom({ showId: id, secret: this.#options.secret, source: this.#options.source, store: this.#store, wakeAt: (when) => this.#setAlarm(when) });
    for (const ws of this.#ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as SocketState | null;
      if (state) room.restore(this.#socket(ws), state);
    }
    this.#room = room;
    return room;
  }

  #socket(ws: HibernatingWebSocket): RoomSocket {
    let socket = this.#sockets.get(ws);
    if (!socket) {
      socket = {
        send: (text) => ws.send(text),
        bufferedAmount: () => ws.bufferedAmount ?? 0,
        close: (code, reason) => ws.close(code, reason),
        remember: (state) => ws.serializeAttachment(state),
      };
      this.#sockets.set(ws, socket);
    }
    return socket;
  }

  #setAlarm(when: number | null): void {
    if (when === this.#alarmAt) return;
    this.#alarmAt = when;
    void (when === null ? this.#ctx.storage.deleteAlarm() : this.#ctx.storage.setAlarm(when));
  }
}
