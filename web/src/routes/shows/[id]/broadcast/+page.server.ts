import { error } from '@sveltejs/kit';
import { EDGE_API_URL, REALTIME_PUBLIC_URL } from '$app/env/private';
import { reachEdgeApi } from '../../../../lib/api.ts';
import { loadProducts, loadShowOrders } from '../../../../lib/commerce/loaders.server.ts';
import { sfuPublicUrl } from '../../../../lib/media/sfuUrl.ts';
import { realtimePublicUrl } from '../../../../lib/realtime/roomUrl.ts';
import type { PageServerLoad } from './$types';

/**
 * The seller's go-live page for one show. Anyone may load it, but only the show's seller gets the
 * camera controls: a visitor who is not signed in is asked to sign in, anyone else is refused.
 */
export const load: PageServerLoad = async ({ locals, params, url }) => {
  const [showResponse, meResponse] = await reachEdgeApi(() => Promise.all([locals.api.v1.shows[':id'].$get({ param: { id: params.id } }), locals.api.v1.auth.me.$get()]));
  const status: number = showResponse.status;
  if (showResponse.status === 404 || showResponse.status === 400) error(404, 'There is no show at this address.');
  if (showResponse.status !== 200) {
    console.error(`web: GET /v1/shows/${params.id} answered ${status}`);
    error(502, 'The show catalogue answered with an error. Please try again in a moment.');
  }
  const show = await showResponse.json();
  const me = meResponse.status === 200 ? await meResponse.json() : null;
  if (me && me.id !== show.sellerId) error(403, 'Only this show’s seller can broadcast it.');
  // The seller's order feed so far; the room announces the next ones.
  const orders = me ? await loadShowOrders(locals.api, show.id) : null;
  const ordered = orders ? await loadProducts(locals.api, orders.map((order) => order.productId)) : {};
  return {
    show,
    signedIn: me !== null,
    sfuUrl: sfuPublicUrl(process.env.SFU_PUBLIC_URL, url),
    roomUrl: realtimePublicUrl(REALTIME_PUBLIC_URL, EDGE_API_URL, url),
    orders,
    productTitles: Object.fromEntries(Object.entries(ordered).map(([id, product]) => [id, product.title])),
  };
};
