import type { RoomFeedEvent } from '@mytaek1/contracts';
import type { MiddlewareHandler } from 'hono';

/**
 * How the edge API tells a show's room what happened outside it: the checkout's stock and order
 * events (the `ShowEvents` port), and "the show or its pins changed". The Node hub takes them
 * in-process; on Workers they are POSTed to the show's Durable Object.
 */
export interface RoomFeed {
  publish(showId: string, event: RoomFeedEvent): Promise<void>;
}

/**
 * Writes that change what a room shows: pinning, unpinning (with flash deals), going live, ending,
 * and the media services' reports (an OBS publish starting or ending the show).
 */
const SHOW_WRITE = /^\/v1\/(?:shows\/([0-9a-f-]{36})\/(?:pins\/[0-9a-f-]{36}|live|end)|internal\/shows\/([0-9a-f-]{36})\/media-events)$/;

/**
 * Middleware for the app: after a successful write to a show's pins or status, the show's room is
 * asked to reload them and announce what differs (pin, unpin, flash deal start/end, status). The
 * write never fails because its room could not be told.
 */
export function notifyRooms(feed: RoomFeed, warn: (message: string, error: unknown) => void = (message, error) => console.warn(`edge-api: ${message}:`, error)): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.req.method === 'GET' || c.res.status < 200 || c.res.status >= 300) return;
    const write = SHOW_WRITE.exec(c.req.path);
    const showId = write?.[1] ?? write?.[2];
    if (!showId) return;
    try {
      await feed.publish(showId, { type: 'refresh' });
    } catch (error) {
      warn(`telling show ${showId}'s room about ${c.req.method} ${c.req.path} failed`, error);
    }
  };
}
