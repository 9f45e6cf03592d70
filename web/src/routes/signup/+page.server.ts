import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { formText, formValues, submitToApi } from '../../lib/forms.ts';
import { absolutePath } from '../../lib/paths.ts';
import { passCookiesOn } from '../../lib/session.ts';
import type { Actions } from './$types';

/** The fields echoed back on failure: everything but the password. */
const ECHOED_FIELDS = ['email', 'displayName', 'sell'] as const;

export const actions = {
  default: async ({ request, locals, url }) => {
    const data = await request.formData();
    const wantsToSell = formText(data, 'sell') === 'yes';
    const sent = await submitToApi(
      () =>
        locals.api.v1.auth.signup.$post({
          json: { email: formText(data, 'email'), password: formText(data, 'password'), displayName: formText(data, 'displayName'), role: wantsToSell ? 'seller' : 'shopper' },
        }),
      201,
      {
        form: 'signup',
        values: formValues(data, ECHOED_FIELDS),
        fields: { email: 'email', password: 'password', displayName: 'displayName', role: 'sell' },
        byStatus: { 409: { field: 'email', message: 'an account with this email exists already: sign in instead' } },
      },
    );
    if (!sent.ok) return sent.failure;
    passCookiesOn(locals, sent.response);
    const { user } = await sent.response.json();
    redirect(303, absolutePath(user.role === 'seller' ? resolve('/studio') : resolve('/'), url));
  },
} satisfies Actions;
