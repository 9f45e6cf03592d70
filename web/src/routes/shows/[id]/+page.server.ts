import { error } from '@sveltejs/kit';
import { EDGE_API_URL, REALTIME_PUBLIC_URL } from '$app/env/private';
import { reachEdgeApi } from '../../../lib/api.ts';
import { loadPins } from '../../../lib/commerce/loaders.server.ts';
import { loadSfuGrant } from '../../../lib/media/grants.server.ts';
import { signalingUrl } from '../../../lib/media/SfuSession.ts';
import { sfuPreconnectScript, viewerOpeningRequests } from '../../../lib/media/sfuPreconnect.ts';
import { sfuPublicUrl } from '../../../lib/media/sfuUrl.ts';
import { transcoderPublicUrl } from '../../../lib/media/transcoderUrl.ts';
import { realtimePublicUrl } from '../../../lib/realtime/roomUrl.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
  // One round trip for all three: the show, its pins, and (for a live show) the player's sfu
  // admission, so that the player connects the moment it hydrates instead of asking for a token first.
  const [response, pins, sfuGrant] = await Promise.all([
    reachEdgeApi(() => locals.api.v1.shows[':id'].$get({ param: { id: params.id } })),
    loadPins(locals.api, params.id),
    loadSfuGrant(locals.api, params.id),
  ]);
  // The edge API answers 400 for an id that is not a UUIDv7; for a visitor, both mean "no such show".
  // Widened on purpose: the route declares its answers, but a proxy or a crash can answer anything.
  const status: number = response.status;
  if (response.status === 404 || response.status === 400) error(404, 'There is no show at this address.');
  if (response.status !== 200) {
    console.error(`web: GET /v1/shows/${params.id} answered ${status}`);
    error(502, 'The show catalogue answered with an error. Please try again in a moment.');
  }
  const show = await response.json();
  // Where the player reaches the sfu: SFU_PUBLIC_URL, else this page's host on the sfu's default port.
  // Where the page opens the show's realtime room (chat, hearts, viewers, live stock): see roomUrl.ts.
  const sfuUrl = sfuPublicUrl(process.env.SFU_PUBLIC_URL, url);
  const liveGrant = show.status === 'live' ? sfuGrant : null;
  if (liveGrant) {
    // The page opens the player's socket and sends its first requests before its code has loaded.
    locals.headStart = sfuPreconnectScript(signalingUrl(sfuUrl, params.id), viewerOpeningRequests(liveGrant.token));
  }
  return {
    show,
    sfuUrl,
    // Where the player falls back to LL-HLS: TRANSCODER_PUBLIC_URL, else this page's host on the transcoder's default port.
    transcoderUrl: transcoderPublicUrl(process.env.TRANSCODER_PUBLIC_URL, url),
    roomUrl: realtimePublicUrl(REALTIME_PUBLIC_URL, EDGE_API_URL, url),
    pins,
    sfuGrant: liveGrant,
  };
};
