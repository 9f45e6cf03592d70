import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { submitToApi } from '../../lib/forms.ts';
import { absolutePath } from '../../lib/paths.ts';
import { passCookiesOn } from '../../lib/session.ts';
import type { Actions } from './$types';

/**
 * Signing out is a POST (the header's form): a link that signs out on GET could be triggered by any
 * page that embeds it. Visiting /logout itself shows a page with that same button.
 */
export const actions = {
  default: async ({ locals, url }) => {
    const sent = await submitToApi(() => locals.api.v1.auth.logout.$post(), 204, { form: 'logout', values: {} });
    if (!sent.ok) return sent.failure;
    // The API's answer expires its session cookie; the browser must see that header itself.
    passCookiesOn(locals, sent.response);
    redirect(303, absolutePath(resolve('/'), url));
  },
} satisfies Actions;
