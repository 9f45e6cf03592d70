import type { RoomFeedEvent } from '@mytaek1/contracts';
import type { ShowEvent, ShowEvents } from '../domain/checkout.ts';
import type { RoomFeed } from './room-feed.ts';

export interface ShowRoomNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/**
 * The realtime port on Workers: each event goes to the show's room, a Durable Object (one per show,
 * named by its id), which numbers it and broadcasts it to the sockets it holds.
 */
export class DurableObjectShowEvents implements ShowEvents, RoomFeed {
  readonly #rooms: ShowRoomNamespace;

  constructor(rooms: ShowRoomNamespace) {
    this.#rooms = rooms;
  }

  async publish(showId: string, event: ShowEvent | RoomFeedEvent): Promise<void> {
    const room = this.#rooms.get(this.#rooms.idFromName(showId));
    const response = await room.fetch(
      new Request(`https://show-room/${showId}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) }),
    );
    if (!response.ok) throw new Error(`show room ${showId} refused an event: ${response.status}`);
  }
}
