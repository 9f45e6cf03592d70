import type { ShowEvent, ShowEvents } from '../domain/checkout.ts';

export interface ShowRoomNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** The realtime port on Workers: each event goes to the show's room, a Durable Object, which broadcasts it. */
export class DurableObjectShowEvents implements ShowEvents {
  readonly #rooms: ShowRoomNamespace;

  constructor(rooms: ShowRoomNamespace) {
    this.#rooms = rooms;
  }

  async publish(showId: string, event: ShowEvent): Promise<void> {
    const room = this.#rooms.get(this.#rooms.idFromName(showId));
    const response = await room.fetch(new Request('https://show-room/publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) }));
    if (!response.ok) throw new Error(`show room ${showId} refused an event: ${response.status}`);
  }
}
