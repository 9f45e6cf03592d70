import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { formText, formValues, submitToApi } from '../../lib/forms.ts';
import { absolutePath } from '../../lib/paths.ts';
import { passCookiesOn, safeRedirectTarget } from '../../lib/session.ts';
import type { Actions } from './$types';

export const actions = {
  default: async ({ request, locals, url }) => {
    const data = await request.formData();
    const sent = await submitToApi(
      () => locals.api.v1.auth.login.$post({ json: { email: formText(data, 'email'), password: formText(data, 'password') } }),
      200,
      {
        form: 'login',
        values: formValues(data, ['email']),
        fields: { email: 'email', password: 'password' },
        // Which of the two was wrong is deliberately not said (it would tell who has an account).
        byStatus: { 401: 'Wrong email or password.' },
      },
    );
    if (!sent.ok) return sent.failure;
    passCookiesOn(locals, sent.response);
    const { user } = await sent.response.json();
    const home = absolutePath(user.role === 'seller' ? resolve('/studio') : resolve('/'), url);
    redirect(303, safeRedirectTarget(url.searchParams.get('redirectTo'), home));
  },
} satisfies Actions;
