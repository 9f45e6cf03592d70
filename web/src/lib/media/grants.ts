import { AdmissionGrant, Show } from '@mytaek1/contracts';
import { createBrowserApi } from '../api.ts';
import { GrantError, type Grant } from './SfuSession.ts';

/**
 * Options for a POST without a body through the /api proxy. SvelteKit treats a POST with no
 * content type like a form submission and refuses it (403) unless its Origin matches the origin kit
 * believes it serves, which behind a proxy or without ORIGIN set (adapter-node then assumes https)
 * it does not. A JSON content type is what every other call sends; browsers never send it
 * cross-site without a CORS preflight, so it is no weaker against request forgery.
 */
export const BODYLESS_POST: { headers: Record<string, string> } = { headers: { 'content-type': 'application/json' } };

/**
 * An sfu admission token for `showId` from the edge API, through this site's /api proxy (so the
 * session cookie makes the seller a publisher). Failures are sorted for SfuSession: an ended show,
 * one that does not exist, and everything worth retrying.
 */
export async function fetchSfuGrant(showId: string): Promise<Grant> {
  const api = createBrowserApi();
  let response: Response;
  try {
    response = await api.v1.shows[':id']['sfu-token'].$post({ param: { id: showId } }, BODYLESS_POST);
  } catch (error) {
    throw new GrantError('unavailable', `could not reach the site: ${error instanceof Error ? error.message : String(error)}`);
  }
  switch (response.status) {
    case 200: {
      const grant = AdmissionGrant.parse(await response.json());
      return { token: grant.token, role: grant.role };
    }
    case 409:
      throw new GrantError('ended', 'the show has ended');
    case 400:
    case 404:
      throw new GrantError('not_found', 'no such show');
    case 401:
    case 403:
      throw new GrantError('forbidden', 'not allowed to join this show');
    default:
      throw new GrantError('unavailable', `the site answered ${response.status}`);
  }
}

/** Whether the show has ended, from the edge API (the seller's tracks going away may mean just a pause). */
export async function isShowEnded(showId: string): Promise<boolean> {
  const response = await createBrowserApi().v1.shows[':id'].$get({ param: { id: showId } });
  if (response.status === 404) return true;
  if (response.status !== 200) throw new Error(`the site answered ${response.status}`);
  return Show.parse(await response.json()).status === 'ended';
}

/** A token that would expire within this long is not worth a connection attempt: fetch a fresh one. */
const GRANT_MARGIN_MS = 15_000;

/**
 * A grant provider that hands out `initial` (the admission the page's server render fetched) for the
 * first connection, while it is fresh, and asks `fetchGrant` for every later one (a reconnect, or a
 * page restored from the back-forward cache long after it was rendered).
 */
export function firstGrantThen(initial: AdmissionGrant | null, fetchGrant: () => Promise<Grant>, now: () => number = Date.now): () => Promise<Grant> {
  let unused = initial;
  return async () => {
    const grant = unused;
    unused = null;
    if (grant && Date.parse(grant.expiresAt) - now() > GRANT_MARGIN_MS) return { token: grant.token, role: grant.role };
    return fetchGrant();
  };
}
