import { signedInUser } from '../lib/session.ts';
import type { LayoutServerLoad } from './$types';

/**
 * Asked once per page load: kit re-runs this only on a full load or after a form action, not on
 * every client-side navigation, and pages read the user from here (`parent()`) rather than asking again.
 */
export const load: LayoutServerLoad = async ({ locals }) => ({ user: await signedInUser(locals.api) });
