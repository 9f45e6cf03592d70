import { loadMyOrders, loadProducts } from '../../lib/commerce/loaders.server.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
  const orders = await loadMyOrders(locals.api, url);
  return { orders, products: await loadProducts(locals.api, orders.map((order) => order.productId)) };
};
