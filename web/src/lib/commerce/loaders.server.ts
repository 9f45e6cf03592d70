/**
 * What the show page and the order pages load on the server, through the visitor's typed client
 * (`locals.api`, which carries their session cookie).
 */
import { error, redirect } from '@sveltejs/kit';
import type { Order, Pin } from '@mytaek1/contracts';
import { type ApiClient, reachEdgeApi } from '../api.ts';
import { loginHref } from './purchase.ts';

/**
 * The show's pins for the first render, or null when they cannot be had right now: the show page
 * still renders, and its pin source fills them in once the API answers.
 */
export async function loadPins(api: ApiClient, showId: string): Promise<Pin[] | null> {
  try {
    const response = await api.v1.shows[':id'].pins.$get({ param: { id: showId } });
    return response.status === 200 ? (await response.json()).pins : null;
  } catch (cause) {
    console.error(`web: GET /v1/shows/${showId}/pins failed:`, cause);
    return null;
  }
}

/** What an order page says about the product bought; null when the product cannot be read. */
export interface OrderedProduct {
  title: string;
  imageUrl: string | null;
}

/** The products of `ids`, read at once; one that cannot be read is left out (its order still shows). */
export async function loadProducts(api: ApiClient, ids: string[]): Promise<Record<string, OrderedProduct>> {
  const entries = await Promise.all(
    [...new Set(ids)].map(async (id) => {
      try {
        const response = await api.v1.products[':id'].$get({ param: { id } });
        if (response.status !== 200) return null;
        const product = await response.json();
        return [id, { title: product.title, imageUrl: product.imageUrls[0] ?? null }] as const;
      } catch {
        return null;
      }
    }),
  );
  return Object.fromEntries(entries.filter((entry) => entry !== null));
}

/**
 * A show's orders as its seller sees them (the API's order feed), newest first, or null when they
 * cannot be had right now: the broadcast page still renders, and its room brings the next ones.
 */
export async function loadShowOrders(api: ApiClient, showId: string): Promise<Order[] | null> {
  try {
    const response = await api.v1.shows[':id'].orders.$get({ param: { id: showId }, query: {} });
    return response.status === 200 ? (await response.json()).orders : null;
  } catch (cause) {
    console.error(`web: GET /v1/shows/${showId}/orders failed:`, cause);
    return null;
  }
}

/** The signed-in buyer's orders, newest first; a signed-out visitor is sent to sign in and come back. */
export async function loadMyOrders(api: ApiClient, here: URL): Promise<Order[]> {
  const response = await reachEdgeApi(() => api.v1.orders.$get({ query: {} }));
  // Widened: the client types the 200 only (problems are application/problem+json).
  const status: number = response.status;
  if (status === 401) redirect(303, loginHref(here.pathname + here.search));
  if (response.status !== 200) upstreamFailed('GET /v1/orders', status);
  return (await response.json()).orders;
}

/** One of the buyer's orders; someone else's, or none, is "no order here" (404) either way. */
export async function loadOrder(api: ApiClient, id: string, here: URL): Promise<Order> {
  const response = await reachEdgeApi(() => api.v1.orders[':id'].$get({ param: { id } }));
  const status: number = response.status;
  if (status === 401) redirect(303, loginHref(here.pathname + here.search));
  if (status === 400 || status === 403 || status === 404) error(404, 'There is no order of yours at this address.');
  if (response.status !== 200) upstreamFailed(`GET /v1/orders/${id}`, status);
  return response.json();
}

function upstreamFailed(call: string, status: number): never {
  console.error(`web: ${call} answered ${status}`);
  error(502, 'The shop answered with an error. Please try again in a moment.');
}
