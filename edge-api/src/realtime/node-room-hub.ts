import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RoomFeedEvent, RoomCloseCode } from '@mytaek1/contracts';
import { type WebSocket, WebSocketServer } from 'ws';
import type { InProcessShowEvents } from './in-process-show-events.ts';
import type { RoomFeed } from './room-feed.ts';
import { MemoryRoomStore } from './room-store.ts';
import { type BackpressureOptions, type RoomSocket, type RoomSource, ShowRoom } from './ShowRoom.ts';

export interface NodeRoomHubOptions {
  /** Verifies realtime tokens. */
  secret: string;
  /** The show and its pins, for a room's first viewer and after changes. */
  source: RoomSource;
  /** The checkout's stock and order events; each room subscribes to its show's. */
  events?: InProcessShowEvents;
  now?: () => number;
  backpressure?: Partial<BackpressureOptions>;
  /** Pings every socket this often and drops those that did not answer the previous ping. */
  pingEveryMs?: number;
  warn?: (message: string, error?: unknown) => void;
}

const ROOM_PATH = /^\/v1\/shows\/([0-9a-f-]{36})\/room$/;
/** setTimeout's longest delay; a later deal boundary is reached in steps. */
const MAX_DELAY = 2 ** 31 - 1;

interface HubRoom {
  room: ShowRoom;
  unsubscribe: () => void;
  wakeTimer: ReturnType<typeof setTimeout> | null;
}

/**
 * The realtime rooms on a single node: WebSocket upgrades at `/v1/shows/{id}/room` on the edge API's
 * own HTTP server (`ws` without a server of its own), one `ShowRoom` per show in this process, fed
 * by the checkout's in-process show events and by the app's notifications.
 */
export class NodeRoomHub implements RoomFeed {
  readonly #options: NodeRoomHubOptions;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024, perMessageDeflate: false, clientTracking: true });
  readonly #rooms = new Map<string, HubRoom>();
  readonly #alive = new WeakSet<WebSocket>();
  readonly #ping: ReturnType<typeof setInterval>;
  readonly #detach: (() => void)[] = [];
  readonly #writes = new CoalescedWrites();

  constructor(options: NodeRoomHubOptions) {
    this.#options = options;
    this.#ping = setInterval(() => {
      for (const ws of this.#wss.clients) {
        if (!this.#alive.has(ws)) {
          ws.terminate();
          continue;
        }
        this.#alive.delete(ws);
        ws.ping();
      }
    }, options.pingEveryMs ?? 30_000);
    this.#ping.unref();
  }

  /** Handles room upgrades on `server`; other upgrade requests are answered 404. */
  attach(server: EventEmitter): void {
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.handleUpgrade(request, socket, head)) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    server.on('upgrade', onUpgrade);
    this.#detach.push(() => server.off('upgrade', onUpgrade));
  }

  /** Takes the upgrade if it is for a room; false otherwise (the caller answers it). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const match = ROOM_PATH.exec(path);
    if (!match) return false;
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connect(match[1]!, ws));
    return true;
  }

  /** The show's room, created on first use. */
  room(showId: string): ShowRoom {
    return this.#hubRoom(showId).room;
  }

  /** Rooms that exist now (a room exists once someone connected to it). */
  get rooms(): ReadonlyMap<string, ShowRoom> {
    return new Map([...this.#rooms].map(([id, r]) => [id, r.room]));
  }

  /** The feed: only rooms that exist hear it; a room created later loads the show fresh. */
  async publish(showId: string, event: RoomFeedEvent): Promise<void> {
    await this.#rooms.get(showId)?.room.publish(event);
  }

  async close(): Promise<void> {
    clearInterval(this.#ping);
    for (const detach of this.#detach.splice(0)) detach();
    for (const [showId, hubRoom] of this.#rooms) this.#dispose(showId, hubRoom);
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #hubRoom(showId: string): HubRoom {
    let hubRoom = this.#rooms.get(showId);
    if (hubRoom) return hubRoom;
    const created: HubRoom = { room: undefined as unknown as ShowRoom, unsubscribe: () => {}, wakeTimer: null };
    const wakeAt = (when: number | null) => {
      if (created.wakeTimer) clearTimeout(created.wakeTimer);
      created.wakeTimer = null;
      if (when === null) return;
      created.wakeTimer = setTimeout(() => created.room.wake(), Math.min(MAX_DELAY, Math.max(0, when - (this.#options.now ?? Date.now)())));
      created.wakeTimer.unref();
    };
    created.room = new ShowRoom({
      showId,
      secret: this.#options.secret,
      source: this.#options.source,
      store: new MemoryRoomStore(),
      wakeAt,
      ...(this.#options.now ? { now: this.#options.now } : {}),
      ...(this.#options.backpressure ? { backpressure: this.#options.backpressure } : {}),
      ...(this.#options.warn ? { warn: this.#options.warn } : {}),
    });
    const warn = this.#options.warn ?? ((message: string, error?: unknown) => console.warn(message, error));
    created.unsubscribe = this.#options.events?.subscribe(showId, (event) => void created.room.publish(event).catch((error: unknown) => warn(`show room ${showId}: event failed`, error))) ?? (() => {});
    hubRoom = created;
    this.#rooms.set(showId, hubRoom);
    return hubRoom;
  }

  #dispose(showId: string, hubRoom: HubRoom): void {
    hubRoom.unsubscribe();
    if (hubRoom.wakeTimer) clearTimeout(hubRoom.wakeTimer);
    hubRoom.room.close();
    this.#rooms.delete(showId);
  }

  #connect(showId: string, ws: WebSocket): void {
    const hubRoom = this.#hubRoom(showId);
    const { room } = hubRoom;
    this.#alive.add(ws);
    ws.on('pong', () => this.#alive.add(ws));
    const connection: Connection = { ws, queue: [] };
    const socket: RoomSocket = {
      // Every socket of a broadcast gets the same text: it is encoded once, not once per socket.
      send: (text) => this.#writes.push(connection, encodeShared(text)),
      // What the network has not taken yet; frames waiting for the next batch (at most one batch
      // interval's worth) are this process's own pacing, not a sign of a slow reader.
      bufferedAmount: () => ws.bufferedAmount,
      close: (code, reason) => {
        // A socket too far behind to take a close frame is cut off; any other gets what was queued for it first.
        if (code === RoomCloseCode.slowConsumer) ws.terminate();
        else {
          this.#writes.flushOne(connection);
          ws.close(code, reason);
        }
      },
    };
    ws.on('message', (data, isBinary) => {
      void room.receive(socket, isBinary ? '' : rawText(data));
    });
    ws.on('close', () => {
      room.leave(socket);
      // A room that never got going (nobody was admitted) is not kept.
      if (room.isEmpty() && !room.describe().loaded && this.#rooms.get(showId) === hubRoom) this.#dispose(showId, hubRoom);
    });
    ws.on('error', () => {});
    room.open(socket);
  }
}

interface Connection {
  ws: WebSocket;
  queue: Buffer[];
}

/**
 * Broadcast frames, written in batches: under light load every batch goes out on the next turn of
 * the event loop (no added latency); under heavy load a batch waits as long as the previous one
 * took to write, so frames for the same socket leave together in one system call instead of one
 * each. With thousands of sockets the per-write cost of loopback TCP, not JavaScript, is the limit.
 */
class CoalescedWrites {
  readonly #pending = new Set<Connection>();
  #scheduled = false;
  #notBefore = 0;

  push(connection: Connection, frame: Buffer): void {
    connection.queue.push(frame);
    this.#pending.add(connection);
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#notBefore - performance.now();
    if (wait > 1) setTimeout(() => this.#flush(), wait);
    else setImmediate(() => this.#flush());
  }

  /** Writes one connection's queue now (before a close frame). */
  flushOne(connection: Connection): void {
    this.#pending.delete(connection);
    write(connection);
  }

  #flush(): void {
    const started = performance.now();
    this.#scheduled = false;
    const batch = [...this.#pending];
    this.#pending.clear();
    for (const connection of batch) write(connection);
    const took = performance.now() - started;
    // At most half the time goes to writing, and never more than 50 ms between batches.
    this.#notBefore = performance.now() + Math.min(took, 50);
  }
}

function write(connection: Connection): void {
  const { ws, queue } = connection;
  connection.queue = [];
  if (ws.readyState !== ws.OPEN || queue.length === 0) return;
  const raw = rawSocketOf(ws);
  if (raw) {
    // The frames are complete WebSocket frames already: one write for the whole queue, no per-frame
    // work in ws. Safe beside ws's own writes (pings, close) because without permessage-deflate its
    // sender writes each frame synchronously too, so frames never interleave.
    raw.write(queue.length === 1 ? queue[0]! : Buffer.concat(queue));
    return;
  }
  for (const frame of queue) ws.send(payloadOf(frame), { binary: false });
}

/** ws keeps the TCP socket as `_socket`; absent on anything that is not a plain ws server socket. */
function rawSocketOf(ws: WebSocket): { write(data: Buffer): boolean } | undefined {
  return (ws as unknown as { _socket?: { write(data: Buffer): boolean } })._socket;
}

let sharedText = '';
let sharedFrame: Buffer = Buffer.alloc(0);
/**
 * The most recent text as a complete server-to-client WebSocket text frame (RFC 6455 section 5.2:
 * FIN and opcode 1, no mask), shared across sockets: a broadcast sends one text to all of them in a
 * row, so it is encoded and framed once, not once per socket.
 */
function encodeShared(text: string): Buffer {
  if (text !== sharedText) {
    sharedText = text;
    sharedFrame = textFrame(Buffer.from(text));
  }
  return sharedFrame;
}

export function textFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) frame[1] = length;
  else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}

function payloadOf(frame: Buffer): Buffer {
  const marker = frame[1]! & 0x7f;
  return frame.subarray(marker < 126 ? 2 : marker === 126 ? 4 : 10);
}

function rawText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
