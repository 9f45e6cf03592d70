import type { SfuStats } from '@mytaek1/contracts';
import { createLogger } from './logger.ts';
import { Room, type RoomOriginOptions, type RtcListenOptions } from './Room.ts';
import type { WorkerPool } from './WorkerPool.ts';

const logger = createLogger('RoomRegistry');

/**
 * How long an ended show is remembered, so that viewers still holding a token for it are told it
 * ended instead of opening an empty room. Longer than any admission token lives.
 */
const ENDED_SHOW_MEMORY_MS = 6 * 60 * 60 * 1000;

export type RoomRegistryOptions = {
  pool: WorkerPool;
  listen: RtcListenOptions;
  emptyRoomGraceMs: number;
  /** See ShowRouters. */
  maxConsumersPerRouter: number;
  /** Set on an edge sfu: every room's media is piped in from this origin. */
  origin?: RoomOriginOptions;
  /** Called with every room once it is created (before any peer is in it). */
  onRoom?: (room: Room) => void;
};

/** The rooms of this sfu, one per live show, created on the first peer's admission. */
export class RoomRegistry {
  readonly #pool: WorkerPool;
  readonly #listen: RtcListenOptions;
  readonly #emptyRoomGraceMs: number;
  readonly #maxConsumersPerRouter: number;
  readonly #origin: RoomOriginOptions | undefined;
  readonly #onRoom: ((room: Room) => void) | undefined;
  readonly #rooms = new Map<string, Room>();
  /** Rooms being created: peers of the same show admitted at the same moment share one. */
  readonly #creating = new Map<string, Promise<Room>>();
  readonly #endedShows = new Map<string, number>();
  #closed = false;

  static create(options: RoomRegistryOptions): RoomRegistry {
    return new RoomRegistry(options);
  }

  private constructor({ pool, listen, emptyRoomGraceMs, maxConsumersPerRouter, origin, onRoom }: RoomRegistryOptions) {
    this.#pool = pool;
    this.#listen = listen;
    this.#emptyRoomGraceMs = emptyRoomGraceMs;
    this.#maxConsumersPerRouter = maxConsumersPerRouter;
    this.#origin = origin;
    this.#onRoom = onRoom;
  }

  /** True on an edge sfu: shows are published at the origin and piped in from there. */
  get originUrl(): string | undefined {
    return this.#origin?.url;
  }

  get(showId: string): Room | undefined {
    return this.#rooms.get(showId);
  }

  get size(): number {
    return this.#rooms.size;
  }

  async getOrCreate(showId: string): Promise<Room> {
    if (this.#closed) throw new Error('the sfu is shutting down');
    const existing = this.#rooms.get(showId);
    if (existing) return existing;
    let creating = this.#creating.get(showId);
    if (!creating) {
      creating = this.#create(showId).finally(() => this.#creating.delete(showId));
      this.#creating.set(showId, creating);
    }
    return creating;
  }

  hasEnded(showId: string): boolean {
    return this.#endedShows.has(showId);
  }

  /** Ends a show: its room closes (peers get `roomClosed`) and later admissions are refused. */
  endShow(showId: string): void {
    this.#rememberEnded(showId);
    this.#rooms.get(showId)?.close('show_ended');
    logger.info('show ended', { showId });
  }

  async getStats(): Promise<SfuStats> {
    const shows = await Promise.all([...this.#rooms.values()].map((room) => room.getStats()));
    return { workers: this.#pool.loads(), shows };
  }

  /** Closes every room, telling peers the sfu is shutting down. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const room of this.#rooms.values()) room.close('shutdown');
    this.#rooms.clear();
  }

  #rememberEnded(showId: string): void {
    const now = Date.now();
    for (const [id, endedAt] of this.#endedShows) {
      if (now - endedAt > ENDED_SHOW_MEMORY_MS) this.#endedShows.delete(id);
    }
    this.#endedShows.set(showId, now);
  }

  async #create(showId: string): Promise<Room> {
    const room = await Room.create({
      showId,
      pool: this.#pool,
      listen: this.#listen,
      emptyRoomGraceMs: this.#emptyRoomGraceMs,
      maxConsumersPerRouter: this.#maxConsumersPerRouter,
      origin: this.#origin,
    });
    if (this.#closed || this.#endedShows.has(showId)) {
      // Shut down or ended while the router was being created.
      room.close(this.#closed ? 'shutdown' : 'show_ended');
      throw new Error(this.#closed ? 'the sfu is shutting down' : 'the show has ended');
    }
    this.#rooms.set(showId, room);
    room.once('closed', (reason) => {
      if (this.#rooms.get(showId) === room) this.#rooms.delete(showId);
      // On an edge, the origin ending the show closes the room: nobody gets back in here either.
      if (reason === 'show_ended') this.#rememberEnded(showId);
    });
    this.#onRoom?.(room);
    return room;
  }
}
