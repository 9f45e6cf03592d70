import { AdmissionGrant } from '@mytaek1/contracts';
import type { ApiClient } from '../api.ts';
import { BODYLESS_POST } from './grants.ts';

/**
 * The visitor's sfu admission for a show, fetched during the server render with their session, or
 * null when there is none to have (the show is not live, or the API did not answer): the player then
 * asks for one itself, as it does for every reconnect.
 */
export async function loadSfuGrant(api: ApiClient, showId: string): Promise<AdmissionGrant | null> {
  try {
    const response = await api.v1.shows[':id']['sfu-token'].$post({ param: { id: showId } }, BODYLESS_POST);
    return response.status === 200 ? AdmissionGrant.parse(await response.json()) : null;
  } catch {
    return null;
  }
}
