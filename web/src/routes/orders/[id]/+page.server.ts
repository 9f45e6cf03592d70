import { loadOrder, loadProducts } from '../../../lib/commerce/loaders.server.ts';
import { loginHref } from '../../../lib/commerce/purchase.ts';
import { submitToApi } from '../../../lib/forms.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
  const order = await loadOrder(locals.api, params.id, url);
  const products = await loadProducts(locals.api, [order.productId]);
  return { order, product: products[order.productId] ?? null };
};

export const actions = {
  /** The buyer gives up an unpaid order; its units go back on sale. A form, so it works without JavaScript. */
  cancel: async ({ locals, params, url }) => {
    const sent = await submitToApi(() => locals.api.v1.orders[':id'].cancel.$post({ param: { id: params.id } }), 200, {
      form: 'cancel',
      values: {},
      signInAt: loginHref(url.pathname),
      byStatus: { 409: 'This order can no longer be cancelled: it was paid or had already lapsed.' },
    });
    if (!sent.ok) return sent.failure;
    return { form: 'cancel', notice: 'Your order is cancelled and its unit is back on sale.' };
  },
} satisfies Actions;
