import { error } from '@sveltejs/kit';
import { reachEdgeApi } from '../lib/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals }) => {
  const response = await reachEdgeApi(() => locals.api.v1.shows.$get());
  if (!response.ok) {
    console.error(`web: GET /v1/shows answered ${response.status}`);
    error(502, 'The show catalogue answered with an error. Please try again in a moment.');
  }
  return { shows: await response.json() };
};
