import { error } from '@sveltejs/kit';
import { reachEdgeApi } from '../../../lib/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params }) => {
  const response = await reachEdgeApi(() => locals.api.v1.shows[':id'].$get({ param: { id: params.id } }));
  // The edge API answers 400 for an id that is not a UUIDv7; for a visitor, both mean "no such show".
  // Widened on purpose: the route declares its answers, but a proxy or a crash can answer anything.
  const status: number = response.status;
  if (response.status === 404 || response.status === 400) error(404, 'There is no show at this address.');
  if (response.status !== 200) {
    console.error(`web: GET /v1/shows/${params.id} answered ${status}`);
    error(502, 'The show catalogue answered with an error. Please try again in a moment.');
  }
  return { show: await response.json() };
};
