import { PinList, Show } from '@mytaek1/contracts';
import type { RoomSource } from './ShowRoom.ts';

/**
 * A room's source of truth is the edge API itself: the show and its pins (with live stock) as its
 * public routes serve them. On Node the hub calls the app in-process; the Durable Object builds the
 * Worker's app over the Worker's database. Either way the room reads what the web app reads.
 */
export function apiRoomSource(fetch: (request: Request) => Response | Promise<Response>): RoomSource {
  const get = async (path: string) => fetch(new Request(`http://edge-api.internal${path}`, { headers: { accept: 'application/json' } }));
  return {
    async load(showId) {
      const [show, pins] = await Promise.all([get(`/v1/shows/${showId}`), get(`/v1/shows/${showId}/pins`)]);
      if (show.status === 404) return null;
      if (!show.ok || !pins.ok) throw new Error(`the edge API answered ${show.status} and ${pins.status} for show ${showId}`);
      return { status: Show.parse(await show.json()).status, pins: PinList.parse(await pins.json()).pins };
    },
  };
}
