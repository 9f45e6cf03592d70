import { AdmissionGrant } from '@mytaek1/contracts';
import type { ApiClient } from '../api.ts';
import { BODYLESS_POST } from '../media/grants.ts';

/** Why no realtime token was issued: the show has ended, there is no such show, or try again later. */
export type RoomGrantFailure = 'ended' | 'not_found' | 'unavailable';

export class RoomGrantError extends Error {
  readonly failure: RoomGrantFailure;

  constructor(failure: RoomGrantFailure, message: string) {
    super(message);
    this.name = 'RoomGrantError';
    this.failure = failure;
  }
}

/** Fetches a fresh realtime token; called before every connection, since tokens are short-lived. */
export type RoomGrantFetcher = (showId: string) => Promise<AdmissionGrant>;

/**
 * Realtime tokens from `POST /v1/shows/{id}/realtime-token` through `api`: in the browser the /api
 * proxy, so the session cookie makes the show's seller a moderator, a signed-in shopper a viewer who
 * may chat, and a visitor an anonymous viewer who may only watch and read.
 */
export function realtimeGrantFetcher(api: ApiClient): RoomGrantFetcher {
  return async (showId) => {
    let response: Response;
    try {
      response = await api.v1.shows[':id']['realtime-token'].$post({ param: { id: showId } }, BODYLESS_POST);
    } catch (error) {
      throw new RoomGrantError('unavailable', `could not reach the site: ${error instanceof Error ? error.message : String(error)}`);
    }
    switch (response.status) {
      case 200:
        return AdmissionGrant.parse(await response.json());
      case 409:
        throw new RoomGrantError('ended', 'the show has ended');
      case 400:
      case 404:
        throw new RoomGrantError('not_found', 'no such show');
      default:
        throw new RoomGrantError('unavailable', `the site answered ${response.status}`);
    }
  };
}
